"""The engine commands end to end on real SQLite files: run, list, show, export, replay,
send-event, cancel, retry, skip-step (the worker, a long-running process, has its own file).

Commands run in-process through ``wfkit.cli.main.main`` (which maps errors to exit codes);
states that take minutes of retry delays (a FAILED run) are prepared through the Python API
on a virtual clock, then repaired through the CLI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from wfkit.cli.main import main
from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.loader import load_workflow
from wfkit.errors import RunFailed

FLOWS = """
    from __future__ import annotations

    from dataclasses import dataclass
    from pathlib import Path

    from wfkit import Context, Retry, step, workflow

    HERE = Path(__file__).parent
    FLAG = HERE / "repaired.flag"


    def log(line: str) -> None:
        with open(HERE / "effects.log", "a") as fh:
            fh.write(line + "\\n")


    @dataclass
    class Point:
        x: int
        y: int


    @step
    def add_step(a: int, b: int) -> int:
        log(f"add {a} {b}")
        return a + b


    @workflow
    def add(ctx: Context, a: int, b: int = 0) -> int:
        return ctx.step(add_step, a, b)


    @workflow
    def norm(ctx: Context, p: Point) -> dict:
        return {"x": p.x, "y": p.y, "l1": abs(p.x) + abs(p.y)}


    @step
    def reserve(item: str) -> str:
        log(f"reserve {item}")
        return f"res-{item}"


    @reserve.compensation
    def release(item: str, reservation: str) -> None:
        log(f"release {reservation}")


    @step(retry=Retry(attempts=1))
    def explode(message: str) -> None:
        raise ValueError(message)


    @workflow
    def doomed(ctx: Context, item: str) -> str:
        ctx.step(reserve, item)
        ctx.step(explode, "boom\\nsecond line")
        return "never"


    @workflow
    def waits(ctx: Context) -> object:
        ctx.step(reserve, "w")
        got = ctx.wait_for_event("go", timeout=3600)
        return {"got": got}


    @workflow
    def napper(ctx: Context) -> str:
        ctx.sleep(0.6)
        return "rested"


    @workflow
    def kid(ctx: Context, x: int) -> int:
        return ctx.step(add_step, x, x)


    @workflow
    def parent(ctx: Context, n: int) -> list:
        return [ctx.child(kid, i) for i in range(n)]


    @step
    def hold(n: int) -> int:
        return n


    @hold.compensation
    def unhold(n: int, held: int) -> None:
        if not FLAG.exists():
            raise RuntimeError("cannot undo yet")
        log(f"unhold {held}")


    @step(retry=Retry(attempts=1))
    def fragile(n: int) -> int:
        if not FLAG.exists():
            raise RuntimeError("not yet")
        return n * 10


    @workflow
    def repairable(ctx: Context, n: int) -> int:
        held = ctx.step(hold, n)
        return ctx.step(fragile, held) + 1
"""


@pytest.fixture(autouse=True)
def workdir(user_code_dir: Path) -> Path:
    """A fresh directory with the test workflows, the default store, and clean imports."""
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    return user_code_dir


DB = "sqlite:///wfkit.db"


def wfkit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def effects(workdir: Path) -> list[str]:
    path = workdir / "effects.log"
    return path.read_text().splitlines() if path.exists() else []


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("wfkit: error: "), err
    return err


def virtual_engine(*names: str) -> Engine:
    """An engine on the test store whose retry delays cost nothing (a virtual clock)."""
    return Engine(
        DB,
        workflows=[load_workflow(f"flows.py:{n}") for n in names],
        clock=ManualClock(datetime.now(timezone.utc)),
    )


# -- run ---------------------------------------------------------------------------------------
def test_run_prints_the_result_as_json(capsys, workdir) -> None:
    code, out, err = wfkit(
        capsys, "run", "flows.py:add", "--input", '{"a": 2, "b": 40}', "--id", "r1"
    )
    assert code == 0 and json.loads(out) == 42
    assert "started run r1" in err
    assert effects(workdir) == ["add 2 40"]


def test_run_input_shapes_and_files(capsys, workdir) -> None:
    assert (
        json.loads(
            wfkit(capsys, "run", "flows.py:add", "--input", '{"args": [1], "kwargs": {"b": 2}}')[1]
        )
        == 3
    )
    assert json.loads(wfkit(capsys, "run", "flows.py:add", "--input", "[5, 6]")[1]) == 11
    assert json.loads(wfkit(capsys, "run", "flows.py:norm", "--input", '{"x": 3, "y": -4}')[1]) == {
        "x": 3,
        "y": -4,
        "l1": 7,
    }
    (workdir / "in.json").write_text('{"a": 7}')
    assert json.loads(wfkit(capsys, "run", "flows.py:add", "--input", "@in.json")[1]) == 7


def test_run_input_from_stdin(capsys, monkeypatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"a": 3, "b": 4}'))
    code, out, _ = wfkit(capsys, "run", "flows.py:add", "--input", "@-")
    assert code == 0 and json.loads(out) == 7


def test_starting_an_id_again_returns_the_same_run(capsys, workdir) -> None:
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "same")[0] == 0
    code, out, err = wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "same")
    assert code == 0 and json.loads(out) == 1 and "already exists" in err
    assert effects(workdir) == ["add 1 0"]


def test_run_with_the_id_of_an_existing_run_needs_no_input(capsys) -> None:
    code, out, _ = wfkit(
        capsys, "run", "flows.py:add", "--input", '{"a": 4}', "--id", "n1", "--no-wait"
    )
    assert (code, out) == (0, "n1\n")
    code, out, err = wfkit(capsys, "run", "flows.py:add", "--id", "n1")  # drives it here
    assert code == 0 and json.loads(out) == 4 and "already exists" in err


def test_run_failed_keeps_to_one_line_even_for_multi_line_errors(capsys) -> None:
    code, _, err = wfkit(capsys, "run", "flows.py:doomed", "--input", '"x"', "--id", "m1")
    assert code == 1 and "second line" not in err
    assert err.splitlines()[-1].endswith("(inspect it with `wfkit show m1`)")


def test_engine_run_failed_error_is_one_line() -> None:
    failed = RunFailed("r1", "COMPENSATED", {"type": "ValueError", "message": "boom\nmore"})
    assert "\n" not in failed.one_line()


def test_run_quiet_prints_only_the_result(capsys) -> None:
    code, out, err = wfkit(capsys, "-q", "run", "flows.py:add", "--input", '{"a": 1}')
    assert (code, out.strip(), err) == (0, "1", "")


@pytest.mark.parametrize("store_from", ["option", "env"])
def test_the_store_comes_from_the_option_or_the_environment(
    capsys, workdir, monkeypatch, store_from
) -> None:
    url = f"sqlite:///{workdir / 'elsewhere.db'}"
    args = ["run", "flows.py:add", "--input", '{"a": 1}', "--id", "s1"]
    if store_from == "env":
        monkeypatch.setenv("WFKIT_STORE", url)
    else:
        args += ["--store", url]
    assert wfkit(capsys, *args)[0] == 0
    assert (workdir / "elsewhere.db").exists() and not (workdir / "wfkit.db").exists()
    code, out, _ = wfkit(capsys, "list", "--format", "json", "--store", url)
    assert [r["id"] for r in json.loads(out)["runs"]] == ["s1"]


def test_the_store_may_be_given_before_the_command(capsys, workdir, monkeypatch) -> None:
    """`wfkit --store URL COMMAND`: the command's own --store wins, then the root's, then
    WFKIT_STORE, then the default."""
    ours, env, own = (f"sqlite:///{workdir / name}" for name in ("ours.db", "env.db", "own.db"))
    monkeypatch.setenv("WFKIT_STORE", env)
    assert (
        wfkit(capsys, "--store", ours, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "r1")[
            0
        ]
        == 0
    )
    assert (
        wfkit(
            capsys,
            "--store",
            ours,
            "run",
            "flows.py:add",
            "--input",
            '{"a": 2}',
            "--id",
            "r2",
            "--store",
            own,
        )[0]
        == 0
    )
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 3}', "--id", "r3")[0] == 0
    for url, ids in ((ours, ["r1"]), (own, ["r2"]), (env, ["r3"])):
        code, out, _ = wfkit(capsys, "--store", url, "list", "--format", "json")
        assert code == 0 and [r["id"] for r in json.loads(out)["runs"]] == ids
    assert not (workdir / "wfkit.db").exists()


def test_a_compensated_run_exits_1_with_one_line(capsys, workdir) -> None:
    code, out, err = wfkit(capsys, "run", "flows.py:doomed", "--input", '"cup"', "--id", "d1")
    assert code == 1 and out == ""
    line = err.splitlines()[-1]
    assert line.startswith("wfkit: error: ") and "COMPENSATED" in line
    assert "ValueError: boom" in line and "wfkit show d1" in line
    assert effects(workdir) == ["reserve cup", "release res-cup"]


def test_no_wait_prints_the_id_and_leaves_the_run_pending(capsys) -> None:
    code, out, err = wfkit(
        capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "nw", "--no-wait"
    )
    assert (code, out) == (0, "nw\n") and "wfkit worker flows.py" in err
    code, out, _ = wfkit(capsys, "show", "nw", "--format", "json")
    assert json.loads(out)["run"]["status"] == "PENDING"


def test_timeout_gives_up_waiting_with_exit_1(capsys) -> None:
    code, out, err = wfkit(capsys, "run", "flows.py:waits", "--id", "t1", "--timeout", "0.8")
    assert code == 1 and out == ""
    assert "did not finish within 0.8s (status WAITING)" in one_error_line(
        err.splitlines(keepends=True)[-1]
    )
    assert err.count("is WAITING for event 'go' until ") == 1  # said once while waiting
    assert "send it with `wfkit send-event t1 go`" in err  # the event it waits for, by name


def test_run_waits_out_a_durable_timer_and_says_so(capsys) -> None:
    code, out, err = wfkit(capsys, "run", "flows.py:napper", "--id", "z1")
    assert code == 0 and json.loads(out) == "rested"
    assert "run z1 is SLEEPING until " in err and "send-event" not in err


# -- list and show -----------------------------------------------------------------------------
def test_list_shows_runs_newest_first_with_filters(capsys) -> None:
    wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "first")
    wfkit(capsys, "run", "flows.py:doomed", "--input", '"x"', "--id", "second")
    wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 2}', "--id", "third")
    code, out, _ = wfkit(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == [
        "ID",
        "WORKFLOW",
        "STATUS",
        "STARTED",
        "STEPS",
        "DONE",
    ]
    assert [line.split()[0] for line in lines[1:]] == ["third", "second", "first"]
    assert lines[2].split()[1:3] == ["doomed", "COMPENSATED"] and lines[2].split()[-1] == "1"
    data = json.loads(wfkit(capsys, "list", "--format", "json")[1])
    assert data["version"] == 1 and [r["id"] for r in data["runs"]] == ["third", "second", "first"]
    assert data["runs"][0]["steps_done"] == 1 and data["runs"][0]["status"] == "COMPLETED"
    only = json.loads(wfkit(capsys, "list", "--format", "json", "--status", "compensated")[1])
    assert [r["id"] for r in only["runs"]] == ["second"]
    only = json.loads(
        wfkit(capsys, "list", "--format", "json", "--workflow", "add", "--limit", "1")[1]
    )
    assert [r["id"] for r in only["runs"]] == ["third"]


def test_list_on_a_terminal_is_coloured_and_never_truncated(capsys, workdir) -> None:
    wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "a-rather-long-run-id")
    wfkit(capsys, "run", "flows.py:doomed", "--input", '"x"', "--id", "second")
    plain = wfkit(capsys, "list")[1]
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "30"}
    env.pop("NO_COLOR", None)
    shown = subprocess.run(
        [sys.executable, "-m", "wfkit.cli.main", "list"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "\x1b[32mCOMPLETED\x1b[0m" in shown and "\x1b[33mCOMPENSATED\x1b[0m" in shown
    # The same text as off a terminal, however narrow the terminal is.
    assert re.sub(r"\x1b\[[0-9;]*m", "", shown) == plain


def test_list_on_an_empty_store_says_so(capsys) -> None:
    wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}')
    code, out, err = wfkit(capsys, "list", "--status", "FAILED")
    assert code == 0 and out == "" and "no runs match" in err


def test_show_prints_header_and_timeline_with_compensations(capsys) -> None:
    wfkit(capsys, "run", "flows.py:doomed", "--input", '"cup"', "--id", "d1")
    code, out, _ = wfkit(capsys, "show", "d1")
    assert code == 0
    assert "doomed v1" in out and "COMPENSATED" in out
    assert "ValueError: boom" in out and "second line" not in out  # first line only
    rows = [
        line.split()
        for line in out.splitlines()
        if line.strip()[:1].isdigit() or line.strip().startswith("c1 ")
    ]
    # compensations are numbered apart from the body's operations: c1 is the first
    assert [r[:3] for r in rows] == [
        ["1", "step", "reserve"],
        ["2", "step", "explode"],
        ["c1", "↩", "compensation"],
    ]
    assert "undoes #1" in out
    data = json.loads(wfkit(capsys, "show", "d1", "--format", "json")[1])
    assert data["version"] == 1 and data["run"]["status"] == "COMPENSATED"
    assert [(o["seq"], o["kind"], o["status"], o["compensates"]) for o in data["operations"]] == [
        (1, "step", "COMPLETED", None),
        (2, "step", "FAILED", None),
        (10_000_001, "compensation", "COMPLETED", 1),
    ]
    assert data["run"]["input"] == {"args": ["cup"], "kwargs": {}}


def test_child_workflows_run_in_process_and_show_links_them(capsys) -> None:
    code, out, _ = wfkit(capsys, "run", "flows.py:parent", "--input", "2", "--id", "p1")
    assert code == 0 and json.loads(out) == [0, 2]
    code, out, _ = wfkit(capsys, "show", "p1")
    assert "kid → p1/1" in out and "kid → p1/2" in out
    ops = json.loads(wfkit(capsys, "show", "p1", "--format", "json")[1])["operations"]
    assert [(o["kind"], o["child_id"]) for o in ops] == [("child", "p1/1"), ("child", "p1/2")]
    kids = json.loads(wfkit(capsys, "list", "--workflow", "kid", "--format", "json")[1])
    assert sorted((r["id"], r["parent_id"]) for r in kids["runs"]) == [
        ("p1/1", "p1"),
        ("p1/2", "p1"),
    ]


# -- export and replay -------------------------------------------------------------------------
def test_export_then_replay_is_ok_and_a_changed_workflow_diverges(capsys, workdir) -> None:
    wfkit(capsys, "run", "flows.py:doomed", "--input", '"cup"', "--id", "d1")
    code, out, _ = wfkit(capsys, "export", "d1")
    assert code == 0 and json.loads(out)["format"] == "wfkit-history"
    (workdir / "d1.json").write_text(out)
    code, out, err = wfkit(capsys, "replay", "d1.json", "--workflow", "flows.py:doomed")
    assert (code, out, err) == (0, "d1.json: ok\n", "")
    changed = (
        (workdir / "flows.py")
        .read_text()
        .replace('ctx.step(explode, "boom', 'ctx.step(explode, name="blow-up", message="boom')
    )
    (workdir / "flows2.py").write_text(changed)
    code, out, err = wfkit(capsys, "replay", "d1.json", "d1.json", "--workflow", "flows2.py:doomed")
    assert code == 1
    assert out.splitlines()[0].startswith(
        "d1.json: DIVERGED: non-deterministic workflow: operation #2 was recorded as step 'explode'"
    )
    assert len(out.splitlines()) == 2 and "2 of 2 histories diverged" in one_error_line(err)


def test_replay_of_an_in_flight_run_is_ok(capsys, workdir) -> None:
    wfkit(capsys, "run", "flows.py:waits", "--id", "w1", "--timeout", "0.2")
    (workdir / "w1.json").write_text(wfkit(capsys, "export", "w1")[1])
    code, out, _ = wfkit(capsys, "replay", "w1.json", "--workflow", "flows.py:waits")
    assert code == 0 and out == "w1.json: ok (in flight: replayed 1 operation)\n"


# -- events, cancel, retry, skip-step ----------------------------------------------------------
def test_send_event_wakes_a_waiting_run(capsys) -> None:
    wfkit(capsys, "run", "flows.py:waits", "--id", "w1", "--timeout", "0.2")
    code, out, err = wfkit(capsys, "send-event", "w1", "go", "--data", '{"ok": true}')
    assert code == 0 and out == "" and "sent event 'go' to run w1" in err
    code, out, _ = wfkit(capsys, "run", "flows.py:waits", "--id", "w1")
    assert code == 0 and json.loads(out) == {"got": {"ok": True}}


@pytest.mark.parametrize(
    "flag, expected", [([], ["reserve w", "release res-w"]), (["--no-compensate"], ["reserve w"])]
)
def test_cancel_compensates_unless_told_not_to(capsys, workdir, flag, expected) -> None:
    wfkit(capsys, "run", "flows.py:waits", "--id", "c1", "--timeout", "0.2")
    code, _, err = wfkit(capsys, "cancel", "c1", *flag)
    assert code == 0 and "cancel requested for run c1" in err
    code, _, err = wfkit(capsys, "run", "flows.py:waits", "--id", "c1")  # drives it here
    assert code == 1 and "ended CANCELLED" in err
    assert effects(workdir) == expected


def failed_run(run_id: str) -> None:
    """A FAILED run: step 'fragile' failed, then undoing 'hold' failed after its retries."""
    with virtual_engine("repairable") as engine:
        engine.start(load_workflow("flows.py:repairable"), 4, workflow_id=run_id)
        with pytest.raises(RunFailed) as failed:
            engine.result(run_id)
        assert failed.value.status == "FAILED"


def test_retry_resumes_a_failed_run(capsys, workdir) -> None:
    failed_run("f1")
    (workdir / "repaired.flag").touch()
    code, _, err = wfkit(capsys, "retry", "f1")
    assert code == 0 and "run f1 is COMPENSATING again" in err
    with virtual_engine("repairable") as engine, pytest.raises(RunFailed) as done:
        engine.result("f1")
    assert done.value.status == "COMPENSATED" and effects(workdir) == ["unhold 4"]


def test_skip_step_rolls_a_failed_step_forward(capsys, workdir) -> None:
    failed_run("f2")
    code, _, err = wfkit(capsys, "skip-step", "f2", "fragile", "--result", "99")
    assert code == 0 and "recorded a result for step 'fragile'" in err and "PENDING" in err
    with virtual_engine("repairable") as engine:
        assert engine.result("f2") == 100
    code, out, _ = wfkit(capsys, "show", "f2")
    assert "SKIPPED" in out


def test_an_event_or_a_hand_recorded_result_over_the_payload_limit_is_exit_2(
    capsys, workdir
) -> None:
    (workdir / "big.json").write_text(json.dumps("x" * 3000))
    wfkit(capsys, "run", "flows.py:waits", "--id", "p1", "--timeout", "0.2")
    code, out, err = wfkit(
        capsys, "send-event", "p1", "go", "--data", "@big.json", "--max-payload", "2KB"
    )
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "over the payload limit of 2.0 KiB" in err
    failed_run("p2")
    code, out, err = wfkit(
        capsys, "skip-step", "p2", "fragile", "--result", "@big.json", "--max-payload", "2KB"
    )
    assert (code, out) == (2, "") and "over the payload limit of 2.0 KiB" in err
    with virtual_engine("repairable") as engine:
        assert engine.store.pending_events("p1", "go") == []
        assert engine.get_run("p2").status.value == "FAILED"


def test_a_skip_step_result_of_the_wrong_type_does_not_roll_the_run_back(capsys, workdir) -> None:
    failed_run("f4")
    (workdir / "repaired.flag").touch()  # compensation would succeed now
    assert wfkit(capsys, "skip-step", "f4", "fragile", "--result", '"abc"')[0] == 0
    with virtual_engine("repairable") as engine, pytest.raises(RunFailed) as done:
        engine.result("f4")
    assert done.value.status == "FAILED" and effects(workdir) == []
    assert wfkit(capsys, "skip-step", "f4", "fragile", "--result", "5")[0] == 0  # again, right
    with virtual_engine("repairable") as engine:
        assert engine.result("f4") == 6


def test_skip_step_can_skip_a_failed_compensation(capsys) -> None:
    failed_run("f3")
    assert wfkit(capsys, "skip-step", "f3", "hold")[0] == 0
    with virtual_engine("repairable") as engine, pytest.raises(RunFailed) as done:
        engine.result("f3")
    assert done.value.status == "COMPENSATED"


# -- help --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        "run",
        "worker",
        "list",
        "show",
        "send-event",
        "cancel",
        "retry",
        "skip-step",
        "export",
        "replay",
    ],
)
def test_every_engine_command_has_help(capsys, command) -> None:
    code, out, _ = wfkit(capsys, command, "--help")
    assert code == 0 and "Usage: wfkit " + command in out
    if command not in ("replay",):
        assert "--store" in out


def help_lists_engine_commands(out: str) -> Any:
    return [c for c in ("run", "worker", "list", "show", "export", "replay") if c in out]


def test_root_help_lists_the_engine_commands_without_importing_the_engine() -> None:
    import subprocess

    code = (
        "import sys; from wfkit.cli.main import main; rc = main(['--help']); "
        "assert 'wfkit.engine.engine' not in sys.modules, 'engine imported'; "
        "assert 'wfkit.engine.store.sqlite' not in sys.modules; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert help_lists_engine_commands(done.stdout) == [
        "run",
        "worker",
        "list",
        "show",
        "export",
        "replay",
    ]


# -- the worker's pieces (the process itself is tested in test_engine_cli_worker.py) ---------
def test_the_worker_log_line_hides_a_store_password() -> None:
    from wfkit.engine.store import display_url

    assert display_url("postgresql://ada:s3cret@db/wf") == "postgresql://ada:***@db/wf"
    assert display_url("sqlite:///wfkit.db?timeout=3") == "sqlite:///wfkit.db?timeout=3"


def test_the_transition_log_says_each_status_change_once() -> None:
    from types import SimpleNamespace

    from wfkit.cli.worker import TransitionLog

    lines: list[str] = []
    log = TransitionLog(lines.append)
    log.claimed(SimpleNamespace(id="r1", workflow="wf", status="PENDING", lease_owner=None))
    log.committed("r1", {"status": "RUNNING"})
    log.committed("r1", {"status": "RUNNING"})  # a step checkpoint: no change
    log.committed("r1", {"updated_at": 1})  # no status at all
    log.committed(
        "r1", {"status": "COMPENSATING", "error": '{"type": "ValueError", "message": "bad\\nmore"}'}
    )
    log.committed("r1", {"status": "COMPENSATED"})
    log.claimed(
        SimpleNamespace(id="r2", workflow="wf", status="RUNNING", lease_owner="host:1:dead")
    )
    assert lines == [
        "r1 wf PENDING -> RUNNING",
        "r1 wf RUNNING -> COMPENSATING (ValueError: bad)",
        "r1 wf COMPENSATING -> COMPENSATED",
        "r2 wf taken over from host:1:dead (its lease expired)",
    ]


# -- prune --------------------------------------------------------------------------------------
def test_prune_deletes_old_finished_runs_and_keeps_the_rest(capsys, workdir) -> None:
    """Runs that finished 40 days ago go (FAILED ones only when named); a recent run, a waiting
    one and its family stay; --dry-run deletes nothing."""
    old = ManualClock(datetime.now(timezone.utc) - timedelta(days=40))
    with Engine(
        DB,
        workflows=[load_workflow(f"flows.py:{n}") for n in ("add", "doomed", "waits")],
        clock=old,
    ) as engine:
        engine.start(load_workflow("flows.py:add"), 1, workflow_id="old-ok").result(timeout=5)
        with pytest.raises(RunFailed):
            engine.start(load_workflow("flows.py:doomed"), "cup", workflow_id="old-undone").result(
                timeout=5
            )
        engine.start(load_workflow("flows.py:waits"), workflow_id="old-waiting")
        engine.work_once()
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 2}', "--id", "new-ok")[0] == 0

    code, out, err = wfkit(capsys, "prune", "--older-than", "30d", "--dry-run")
    assert (code, out.split()) == (0, ["old-ok", "old-undone"])
    assert "would delete 2 runs (CANCELLED, COMPENSATED, COMPLETED) that finished before" in err
    code, out, err = wfkit(capsys, "prune", "--older-than", "4w")
    assert (code, out.split()) == (0, ["old-ok", "old-undone"]) and "deleted 2 runs" in err
    code, out, _ = wfkit(capsys, "list", "--format", "json")
    assert sorted(r["id"] for r in json.loads(out)["runs"]) == ["new-ok", "old-waiting"]
    assert wfkit(capsys, "show", "old-ok")[0] == 2
    assert wfkit(capsys, "prune", "--older-than", "1d12h", "--status", "failed")[:2] == (0, "")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--older-than", "30x"], "invalid duration '30x' for --older-than"),
        (["--older-than", "30d", "--status", "RUNNING"], "Invalid value for '--status'"),
        ([], "Missing option '--older-than'"),
    ],
)
def test_prune_bad_input_is_one_line_and_exit_2(capsys, args, message) -> None:
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}')[0] == 0
    code, out, err = wfkit(capsys, "prune", *args)
    assert code == 2 and out == "" and message in one_error_line(err)
    assert len(json.loads(wfkit(capsys, "list", "--format", "json")[1])["runs"]) == 1


# -- fork --------------------------------------------------------------------------------------
def test_fork_dry_run_then_fork_runs_only_the_failed_step_again(capsys, workdir) -> None:
    failed_run("f5")
    code, out, _ = wfkit(capsys, "fork", "f5", "--dry-run")
    assert code == 0
    assert out == "f5: from #2, 1 operation kept; steps run again: #2 fragile\n"
    assert [r["id"] for r in json.loads(wfkit(capsys, "list", "--format", "json")[1])["runs"]] == [
        "f5"
    ]
    (workdir / "repaired.flag").touch()
    code, out, _ = wfkit(capsys, "fork", "f5", "--id", "f5-fixed")
    assert code == 0 and out.startswith("f5 -> f5-fixed: from #2")
    with virtual_engine("repairable") as engine:
        assert engine.result("f5-fixed") == 41  # hold's recorded 4, fragile run again
        assert engine.get_run("f5").status.value == "FAILED"  # the original is as it was


def test_fork_with_another_input_binds_it_like_run_does(capsys, workdir) -> None:
    failed_run("f9")
    (workdir / "repaired.flag").touch()
    code, out, err = wfkit(
        capsys, "fork", "f9", "--from-step", "1", "--input", '{"n": 7}', "--module", "flows.py",
        "--id", "f9-seven",
    )  # fmt: skip
    assert code == 0, err
    with virtual_engine("repairable") as engine:
        assert engine.result("f9-seven") == 71  # hold(7) ran again, then fragile(7) + 1
    code, _, err = wfkit(capsys, "fork", "f9", "--input", '{"n": "x"}', "--module", "flows.py")
    assert code == 2 and "--input of workflow 'repairable'" in one_error_line(err)


def test_fork_many_by_status_as_json(capsys, workdir) -> None:
    failed_run("f6")
    failed_run("f7")
    code, out, err = wfkit(
        capsys, "fork", "--status", "failed", "--workflow", "repairable", "--since", "1d",
        "--format", "json",
    )  # fmt: skip
    forks = json.loads(out)["forks"]
    assert code == 0 and [f["run_id"] for f in forks] == ["f6", "f7"]
    assert all(f["fork_id"].startswith(f["run_id"] + "-fork-") for f in forks)
    assert forks[0]["kept"] == ["#1 step hold"] and forks[0]["steps_again"] == ["#2 fragile"]
    assert "forked 2 runs" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fork"], "name the run to fork"),
        (["fork", "f8", "--status", "FAILED"], "give a run ID or a selection"),
        (["fork", "--status", "FAILED", "--id", "x"], "--id names one fork"),
        (["fork", "--workflow", "repairable"], "--workflow and --since select runs with --status"),
        (["fork", "--status", "FAILED", "--since", "soon"], "invalid duration 'soon' for --since"),
        (["fork", "f8", "--from-step", "7"], "cannot be forked from #7"),
        (["fork", "nope"], "nope"),
        (["fork", "f8", "--input", "{}"], "--input needs the workflow's code to bind it"),
        (["fork", "--status", "FAILED", "--input", "{}"], "--input is for one fork"),
        (["fork", "f8", "--input", "{", "--module", "flows.py"], "--input"),
    ],
)
def test_fork_bad_input_is_one_line_and_exit_2(capsys, workdir, args, message) -> None:
    failed_run("f8")
    code, _, err = wfkit(capsys, *args)
    assert code == 2 and message in one_error_line(err)
    assert len(json.loads(wfkit(capsys, "list", "--format", "json")[1])["runs"]) == 1
