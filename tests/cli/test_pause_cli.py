"""wfkit pause / resume (runs and workflows), retry --input and cancel --force end to end on
real SQLite files, in-process through ``wfkit.cli.main.main``. A FAILED run (minutes of
compensation retry delays) is prepared through the Python API on a virtual clock, then
repaired through the CLI; every bad input is one line, exit 2, and leaves the store as it was.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from wfkit.cli.main import main
from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.loader import load_workflow
from wfkit.engine.store import sqlite_schema
from wfkit.errors import RunFailed

FLOWS = """
    from pathlib import Path

    from wfkit import Context, Retry, step, workflow

    HERE = Path(__file__).parent


    def log(line: str) -> None:
        with open(HERE / "effects.log", "a") as fh:
            fh.write(line + "\\n")


    @step
    def hold(n: int) -> int:
        log(f"hold {n}")
        return n


    @hold.compensation
    def unhold(n: int, held: int) -> None:
        raise RuntimeError("cannot undo")


    @step(retry=Retry(attempts=1))
    def check(limit: int, held: int) -> int:
        if held > limit:
            raise ValueError(f"{held} is over the limit {limit}")
        log(f"check {limit} {held}")
        return held


    @workflow
    def guarded(ctx: Context, n: int, limit: int) -> int:
        held = ctx.step(hold, n)
        return ctx.step(check, limit, held) * 10


    @step
    def reserve(item: str) -> str:
        log(f"reserve {item}")
        return item


    @reserve.compensation
    def release(item: str, reservation: str) -> None:
        log(f"release {reservation}")


    @workflow
    def waits(ctx: Context) -> object:
        ctx.step(reserve, "w")
        return ctx.wait_for_event("go", timeout=3600)


    @workflow
    def add(ctx: Context, a: int) -> int:
        return a + 1
"""
DB = "sqlite:///wfkit.db"


@pytest.fixture(autouse=True)
def workdir(user_code_dir: Path) -> Path:
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    return user_code_dir


def wfkit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def effects(workdir: Path) -> list[str]:
    path = workdir / "effects.log"
    return path.read_text().splitlines() if path.exists() else []


def fingerprint(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def fails_cleanly(capsys: pytest.CaptureFixture[str], workdir: Path, *args: str) -> str:
    """Exit 2, one stderr line, nothing on stdout, no file changed."""
    before = fingerprint(workdir)
    code, out, err = wfkit(capsys, *args)
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("wfkit: error: "), err
    assert fingerprint(workdir) == before
    return err


def virtual_engine(*names: str) -> Engine:
    return Engine(
        DB,
        workflows=[load_workflow(f"flows.py:{n}") for n in names],
        clock=ManualClock(datetime.now(timezone.utc)),
    )


def failed_run(run_id: str) -> None:
    """A FAILED run of guarded(4, limit=1): 'check' failed, then undoing 'hold' failed."""
    with virtual_engine("guarded") as engine:
        engine.start(load_workflow("flows.py:guarded"), 4, 1, workflow_id=run_id)
        with pytest.raises(RunFailed) as failed:
            engine.result(run_id)
        assert failed.value.status == "FAILED"


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    code, out, err = wfkit(capsys, "list", "--format", "json")
    assert code == 0, err
    return {r["id"]: r for r in json.loads(out)["runs"]}


# -- pause and resume a run ----------------------------------------------------------------------
def test_pause_and_resume_a_run(capsys, workdir) -> None:
    assert wfkit(capsys, "run", "flows.py:waits", "--id", "w1", "--no-wait")[0] == 0
    code, _, err = wfkit(capsys, "pause", "w1")
    assert code == 0 and "paused run w1 (PENDING)" in err
    row = listed(capsys)["w1"]
    assert (row["status"], row["paused"], row["workflow_paused"]) == ("PENDING", True, False)
    code, out, _ = wfkit(capsys, "list")
    assert code == 0 and "PENDING (paused)" in out
    code, out, _ = wfkit(capsys, "list", "--status", "pending")  # the status is unchanged
    assert "w1" in out
    code, out, _ = wfkit(capsys, "show", "w1")
    assert "paused" in out and "wfkit resume w1" in out
    assert json.loads(wfkit(capsys, "show", "w1", "--format", "json")[1])["run"]["paused"]
    code, _, err = wfkit(capsys, "pause", "w1")
    assert code == 0 and "already paused; nothing changed" in err
    # No worker pass starts it while paused.
    with virtual_engine("waits") as engine:
        assert engine.work_once() is False
    assert effects(workdir) == []

    code, _, err = wfkit(capsys, "resume", "w1")
    assert code == 0 and "resumed run w1 (PENDING)" in err
    assert listed(capsys)["w1"]["paused"] is False
    with virtual_engine("waits") as engine:
        assert engine.work_once() is True
    assert effects(workdir) == ["reserve w"]
    types = [e["type"] for e in json.loads(wfkit(capsys, "export", "w1")[1])["events"]]
    assert types.index("run_paused") < types.index("run_resumed")


def test_pause_and_resume_a_workflow(capsys, workdir) -> None:
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 0}', "--id", "a0")[0] == 0
    code, _, err = wfkit(capsys, "pause", "--workflow", "add")
    assert code == 0 and "paused workflow 'add'" in err and "new runs of it" in err
    assert wfkit(capsys, "pause", "--workflow", "add")[2].count("already paused") == 1
    assert (
        wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "a1", "--no-wait")[0]
        == 0
    )
    row = listed(capsys)["a1"]
    assert (row["status"], row["paused"], row["workflow_paused"]) == ("PENDING", False, True)
    code, out, err = wfkit(capsys, "list")
    assert "PENDING (workflow paused)" in out and "workflow 'add' is paused" in err
    code, out, _ = wfkit(capsys, "show", "a1")
    assert "wfkit resume --workflow add" in out
    shown = json.loads(wfkit(capsys, "show", "a1", "--format", "json")[1])["run"]
    assert (shown["paused"], shown["workflow_paused"]) == (False, True)
    with virtual_engine("add") as engine:
        assert engine.work_once() is False  # the pause is in the store: every worker sees it
    # `wfkit run` of a paused workflow's run says why it waits instead of hanging silently.
    code, _, err = wfkit(
        capsys, "run", "flows.py:add", "--input", '{"a": 5}', "--id", "a5", "--timeout", "1"
    )
    assert code != 0 and "run a5 is paused (PENDING)" in err
    assert "wfkit resume --workflow add" in err
    code, _, err = wfkit(capsys, "resume", "--workflow", "add")
    assert code == 0 and "resumed workflow 'add'" in err
    with virtual_engine("add") as engine:
        assert engine.result("a1") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pause",), "name what to pause"),
        (("resume",), "name what to resume"),
        (("pause", "w2", "--workflow", "waits"), "not both"),
        (("pause", "nope"), "nope"),
        (("resume", "w2"), "is not paused"),
        (("pause", "done"), "already ended COMPLETED"),
        (("resume", "--workflow", "waits"), "workflow 'waits' is not paused"),
        (("pause", "--workflow", " "), "workflow name"),
    ],
)
def test_bad_pause_and_resume_are_one_line_and_exit_2(capsys, workdir, args, message) -> None:
    assert wfkit(capsys, "run", "flows.py:waits", "--id", "w2", "--no-wait")[0] == 0
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "done")[0] == 0
    assert message in fails_cleanly(capsys, workdir, *args)


def test_an_older_store_is_upgraded_by_the_first_pause(capsys, workdir) -> None:
    """A version-4 file (before pause) with a run in it: `wfkit pause` migrates, then pauses."""
    conn = sqlite3.connect(workdir / "wfkit.db")
    for migration in sqlite_schema.MIGRATIONS[:4]:
        for statement in migration.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.executemany(
        f"INSERT INTO {sqlite_schema.SCHEMA_TABLE} (version) VALUES (?)",
        [(v,) for v in range(1, 5)],
    )
    conn.execute(
        "INSERT INTO runs (pk, id, workflow, version, status, seed, created_at, updated_at) "
        "VALUES (1, 'old-1', 'add', 1, 'PENDING', '7', 0, 0)"
    )
    conn.execute('INSERT INTO run_inputs (pk, input) VALUES (1, \'{"args": [1], "kwargs": {}}\')')
    conn.commit()
    conn.close()
    code, _, err = wfkit(capsys, "list")  # reading does not upgrade: it says how to
    assert code != 0 and "older wfkit" in err
    code, _, err = wfkit(capsys, "pause", "old-1")
    assert code == 0, err
    assert listed(capsys)["old-1"]["paused"] is True
    conn = sqlite3.connect(workdir / "wfkit.db")
    assert conn.execute(f"SELECT MAX(version) FROM {sqlite_schema.SCHEMA_TABLE}").fetchone() == (
        sqlite_schema.LATEST_VERSION,
    )
    conn.close()
    wfkit(capsys, "resume", "old-1")
    with virtual_engine("add") as engine:
        assert engine.result("old-1") == 2


# -- retry --input ---------------------------------------------------------------------------------
def test_retry_with_a_new_input_keeps_recorded_steps_and_runs_the_failed_one_with_it(
    capsys, workdir
) -> None:
    failed_run("g1")
    assert effects(workdir) == ["hold 4"]
    code, _, err = wfkit(
        capsys, "retry", "g1", "--input", '{"n": 99, "limit": 5}', "--module", "flows.py"
    )
    assert code == 0 and "run g1 is PENDING again with the new input" in err
    with virtual_engine("guarded") as engine:
        assert engine.result("g1") == 40  # hold kept its recorded 4; check ran with limit 5
        retried = [h for h in engine.history("g1") if h.type == "run_retried"]
        assert retried[-1].data["input"] == {"args": [], "kwargs": {"n": 99, "limit": 5}}
        assert json.loads(engine.get_run("g1").input) == {
            "args": [],
            "kwargs": {"n": 99, "limit": 5},
        }
    assert effects(workdir) == ["hold 4", "check 5 4"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--input", '{"n": 1, "limit": 9}'), "--input needs the workflow's code"),
        (("--module", "flows.py"), "--module binds --input"),
        (("--input", "{nope", "--module", "flows.py"), "--input"),
        (("--input", '{"n": "x", "limit": 9}', "--module", "flows.py"), "--input of workflow"),
        (("--input", '{"n": 1}', "--module", "flows.py"), "--input of workflow"),
    ],
)
def test_bad_retry_input_is_one_line_and_exit_2(capsys, workdir, args, message) -> None:
    failed_run("g2")
    assert message in fails_cleanly(capsys, workdir, "retry", "g2", *args)
    assert listed(capsys)["g2"]["status"] == "FAILED"


def test_retry_input_of_a_run_that_is_not_failed_is_exit_2(capsys, workdir) -> None:
    assert wfkit(capsys, "run", "flows.py:add", "--input", '{"a": 1}', "--id", "fine")[0] == 0
    err = fails_cleanly(
        capsys, workdir, "retry", "fine", "--input", '{"a": 2}', "--module", "flows.py"
    )
    assert "not FAILED" in err


# -- cancel --force ------------------------------------------------------------------------------
def test_cancel_force_ends_the_run_now_without_compensating(capsys, workdir) -> None:
    with virtual_engine("waits") as engine:
        engine.start(load_workflow("flows.py:waits"), workflow_id="c1")
        engine.work_once()  # reserve ran; the run waits for its event
    assert effects(workdir) == ["reserve w"]
    code, _, err = wfkit(capsys, "cancel", "c1", "--force")
    assert code == 0 and "run c1 is CANCELLED (forced: nothing was compensated)" in err
    assert listed(capsys)["c1"]["status"] == "CANCELLED"  # at once: no worker involved
    with virtual_engine("waits") as engine:
        assert engine.work_once() is False
        cancelled = [h for h in engine.history("c1") if h.type == "run_cancelled"]
        assert cancelled[0].data["forced"] is True
    assert effects(workdir) == ["reserve w"]  # release never ran
    assert "already ended CANCELLED" in fails_cleanly(capsys, workdir, "cancel", "c1", "--force")


def test_histories_with_pauses_and_a_new_input_replay(capsys, workdir) -> None:
    """`wfkit replay` reads the new history lines (run_paused, run_held, run_resumed,
    run_retried with an input) and replays the runs against the code without a divergence."""
    failed_run("g3")
    assert (
        wfkit(capsys, "retry", "g3", "--input", '{"n": 7, "limit": 9}', "--module", "flows.py")[0]
        == 0
    )
    with virtual_engine("guarded", "waits") as engine:
        assert engine.result("g3") == 40
        engine.start(load_workflow("flows.py:waits"), workflow_id="p3")
        engine.pause("p3")
        engine.resume("p3")
        engine.work_once()
        engine.send_event("p3", "go", 1)
        assert engine.result("p3") == 1
    for run_id, name in (("g3", "guarded"), ("p3", "waits")):
        code, out, err = wfkit(capsys, "export", run_id)
        assert code == 0, err
        (workdir / f"{run_id}.json").write_text(out)
        code, out, err = wfkit(capsys, "replay", f"{run_id}.json", "--workflow", f"flows.py:{name}")
        assert code == 0 and out.strip() == f"{run_id}.json: ok", out + err
