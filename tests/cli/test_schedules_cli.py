"""``wfkit schedules`` end to end on real SQLite files: list, pause, resume, trigger, backfill.

Commands run in-process through ``wfkit.cli.main.main`` (which maps errors to exit codes)
inside click's test runner, which captures stdout and stderr apart; state a worker would leave
(ticks fired, a schedule the code has dropped) is prepared through the Python API on a virtual
clock. One test runs the command as a real subprocess.
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
from click.testing import CliRunner

from wfkit.cli.main import main
from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.loader import load_modules
from wfkit.engine.status import RunStatus
from wfkit.engine.store import open_store

UTC = timezone.utc

FLOWS = """
    from wfkit import Context, Cron, Every, step, workflow


    @step
    def greet(region: str) -> str:
        return f"report {region}"


    @workflow(
        schedule=[
            Cron("0 9 * * MON-FRI", tz="Europe/Berlin", kwargs={"region": "eu"}, name="morning"),
            Every(minutes=15, kwargs={"region": "us"}, name="quarter"),
        ]
    )
    def report(ctx: Context, region: str) -> str:
        return ctx.step(greet, region)
"""

# A workflow whose schedule ran once and that the code then dropped (flows.py does not
# import it): its state stays in the store.
RETIRED = """
    from wfkit import Context, Every, workflow


    @workflow(schedule=Every(hours=1))
    def hourly(ctx: Context) -> None:
        return None
"""


@pytest.fixture
def workdir(user_code_dir: Path) -> Path:
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    (user_code_dir / "retired.py").write_text(textwrap.dedent(RETIRED))
    return user_code_dir


def wfkit(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    with CliRunner().isolation(env=env) as (out, err, _):
        code = main(list(args))
    return code, out.getvalue().decode(), err.getvalue().decode()


def store_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'wfkit.db'}"


def engine_on(workdir: Path, *modules: str, at: datetime | None = None) -> Engine:
    clock = ManualClock(at or datetime.now(UTC))
    return Engine(
        open_store(store_url(workdir)), workflows=load_modules(list(modules)), clock=clock
    )


def snapshot(workdir: Path) -> tuple[list[Any], list[Any]]:
    """Everything the commands could change: the runs and the schedules' states."""
    store = open_store(store_url(workdir), access="read")
    try:
        runs = sorted((r.id, r.status.value) for r in store.list_runs(limit=10_000))
        return runs, sorted(store.schedule_states(), key=lambda s: s.name)
    finally:
        store.close()


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("wfkit: error: "), err
    return err


def fired_store(workdir: Path) -> Engine:
    """A store where flows.py's and retired.py's schedules have fired (an hour ago) and the
    runs they started have ended."""
    engine = engine_on(workdir, "flows.py", "retired.py", at=datetime.now(UTC) - timedelta(hours=1))
    engine.schedules.fire()  # the first look records where counting starts
    engine.clock.advance(3600)
    engine.schedules.fire()
    while engine.work_once():  # and their runs ended (overlap="skip" waits for a live one)
        pass
    return engine


# -- list ----------------------------------------------------------------------------------------
def test_list_shows_each_schedule_with_its_next_fire_and_marks_those_only_the_store_knows(
    workdir: Path,
) -> None:
    engine = fired_store(workdir)
    quarter_run = next(i for i in engine.schedules.all() if i.name == "quarter").last_run_id
    engine.close()
    code, out, err = wfkit("schedules", "list", "flows.py", "--store", store_url(workdir))
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == [
        "SCHEDULE", "WORKFLOW", "WHEN", "NEXT", "FIRE", "(UTC)", "PAUSED", "LAST", "RUN",
        "BUFFERED", "TICK",
    ]  # fmt: skip
    assert [row.split()[0] for row in rows] == ["hourly", "morning", "quarter"]
    hourly, morning, quarter = rows
    assert "(not in the code)" in hourly and "hourly@" in hourly
    assert "cron 0 9 * * MON-FRI Europe/Berlin" in morning
    assert "every 15m" in quarter and quarter_run is not None and quarter_run in quarter
    shown = re.search(r"every 15m +(\S+ \S+) +no ", quarter)
    assert shown is not None, quarter
    next_fire = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert next_fire.minute % 15 == 0 and next_fire.second == 0
    assert timedelta(0) < next_fire - datetime.now(UTC) <= timedelta(minutes=15)


def test_list_as_json_has_a_version_and_every_field(workdir: Path) -> None:
    fired_store(workdir).close()
    code, out, err = wfkit(
        "schedules", "list", "flows.py", "--format", "json", "--store", store_url(workdir)
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 1
    by_name = {s["name"]: s for s in data["schedules"]}
    assert list(by_name) == ["hourly", "morning", "quarter"]
    assert by_name["hourly"]["in_code"] is False and by_name["hourly"]["next_fire"] is None
    morning = by_name["morning"]
    assert morning["in_code"] is True and morning["workflow"] == "report"
    assert morning["describe"] == "cron 0 9 * * MON-FRI Europe/Berlin"
    fire = datetime.fromisoformat(morning["next_fire"])
    assert fire.astimezone(ZoneBerlin()).hour == 9 and fire.weekday() < 5
    assert set(morning) == {
        "name", "workflow", "describe", "in_code", "paused", "next_fire", "handled_until",
        "last_run_id", "buffered_tick",
    }  # fmt: skip


def ZoneBerlin() -> Any:  # noqa: N802 - reads like the constant it stands for
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


def test_list_reads_the_store_from_wfkit_store(workdir: Path) -> None:
    fired_store(workdir).close()
    code, out, err = wfkit("schedules", "list", "flows.py", env={"WFKIT_STORE": store_url(workdir)})
    assert code == 0, err
    assert "quarter" in out and "hourly" in out


def test_list_takes_the_store_before_the_command_too(workdir: Path) -> None:
    fired_store(workdir).close()
    code, out, err = wfkit("--store", store_url(workdir), "schedules", "list", "flows.py")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["hourly", "morning", "quarter"]


def test_list_says_so_when_there_are_no_schedules(workdir: Path) -> None:
    (workdir / "plain.py").write_text(
        "from wfkit import Context, workflow\n\n@workflow\ndef plain(ctx: Context) -> None: ...\n"
    )
    engine_on(workdir, "plain.py").close()  # an empty store
    code, out, err = wfkit("schedules", "list", "plain.py", "--store", store_url(workdir))
    assert code == 0 and out == ""
    assert "no schedules" in err
    code, out, _ = wfkit(
        "schedules", "list", "plain.py", "--format", "json", "--store", store_url(workdir)
    )
    assert json.loads(out) == {"version": 1, "schedules": []}


# -- pause / resume ------------------------------------------------------------------------------
def test_pause_stops_the_ticks_and_resume_starts_them_again(workdir: Path) -> None:
    fired_store(workdir).close()
    url = store_url(workdir)
    code, _, err = wfkit("schedules", "pause", "quarter", "flows.py", "--store", url)
    assert code == 0, err
    assert "paused" in err
    states = {s.name: s for s in snapshot(workdir)[1]}
    assert states["quarter"].paused and not states["morning"].paused
    _, out, _ = wfkit("schedules", "list", "flows.py", "--format", "json", "--store", url)
    quarter = next(s for s in json.loads(out)["schedules"] if s["name"] == "quarter")
    assert quarter["paused"] is True and quarter["next_fire"] is None

    worker = engine_on(workdir, "flows.py", at=datetime.now(UTC) + timedelta(minutes=16))
    assert [r for r in worker.schedules.fire() if r.startswith("quarter@")] == []
    code, _, err = wfkit("schedules", "resume", "quarter", "flows.py", "--store", url)
    assert code == 0, err
    assert "next fire" in err
    assert [r for r in worker.schedules.fire() if r.startswith("quarter@")] != []
    worker.close()


def test_a_schedule_only_the_store_knows_can_be_paused(workdir: Path) -> None:
    fired_store(workdir).close()
    code, _, err = wfkit("schedules", "pause", "hourly", "flows.py", "--store", store_url(workdir))
    assert code == 0, err
    assert {s.name: s.paused for s in snapshot(workdir)[1]}["hourly"] is True


# -- trigger -------------------------------------------------------------------------------------
def test_trigger_starts_one_run_with_the_schedules_input_and_leaves_it_to_a_worker(
    workdir: Path,
) -> None:
    url = store_url(workdir)
    code, out, err = wfkit("schedules", "trigger", "morning", "flows.py", "--store", url)
    assert code == 0, err
    run_id = out.strip()
    assert run_id.startswith("morning@") and run_id.endswith("Z")
    engine = engine_on(workdir, "flows.py")
    assert engine.get_run(run_id).status is RunStatus.PENDING
    while engine.work_once():
        pass
    assert engine.result(run_id) == "report eu"  # the input the schedule declares
    engine.close()


def test_trigger_wait_runs_it_here_and_prints_the_result(workdir: Path) -> None:
    url = store_url(workdir)
    code, out, err = wfkit("schedules", "trigger", "quarter", "flows.py", "--wait", "--store", url)
    assert code == 0, err
    run_id, result = out.split("\n", 1)
    assert run_id.startswith("quarter@")
    assert json.loads(result) == "report us"
    assert dict(snapshot(workdir)[0])[run_id] == "COMPLETED"


# -- backfill ------------------------------------------------------------------------------------
def test_backfill_starts_one_run_per_tick_in_the_range_and_none_twice(workdir: Path) -> None:
    url = store_url(workdir)
    args = ["schedules", "backfill", "quarter", "flows.py", "--store", url]
    rng = ["--from", "2026-11-01T00:00:00Z", "--to", "2026-11-01T01:00:00+00:00"]
    code, out, err = wfkit(*args, *rng)
    assert code == 0, err
    expected = [
        f"quarter@2026-11-01T{t}:00Z" for t in ("00:00", "00:15", "00:30", "00:45", "01:00")
    ]
    assert out.split() == expected
    assert [run_id for run_id, _ in snapshot(workdir)[0]] == expected
    code, out, err = wfkit(
        *args, "--from", "2026-11-01T01:00:00+01:00", "--to", "2026-11-01T00:30Z"
    )
    assert code == 0, err
    assert out.split() == expected[:3]  # the same ids: the runs there are, not new ones
    assert len(snapshot(workdir)[0]) == 5


# -- bad input: one line, exit 2, the store as it was ----------------------------------------------
BAD = [
    (["pause", "nope", "flows.py"], "no schedule named 'nope'"),
    (["resume", "nope", "flows.py"], "no schedule named 'nope'"),
    (["trigger", "nope", "flows.py"], "no schedule named 'nope'"),
    (["backfill", "nope", "flows.py", "--from", "2026-11-01T00:00Z", "--to", "2026-11-02T00:00Z"],
     "no schedule named 'nope'"),
    (["trigger", "hourly", "flows.py"], "no schedule named 'hourly'"),  # only the store knows it
    (["backfill", "quarter", "flows.py", "--from", "2026-11-01T00:00", "--to", "2026-11-02T00:00Z"],
     "--from '2026-11-01T00:00' has no time zone"),
    (["backfill", "quarter", "flows.py", "--from", "2026-11-02T00:00Z", "--to", "2026-11-01T00:00Z"],
     "--to (2026-11-01T00:00Z) is before --from (2026-11-02T00:00Z)"),
    (["backfill", "quarter", "flows.py", "--from", "yesterday", "--to", "2026-11-01T00:00Z"],
     "--from 'yesterday' is not an ISO datetime"),
    (["backfill", "quarter", "flows.py", "--from", "2026-11-01T00:00Z"], "Missing option '--to'"),
    (["list", "nope.py"], "no such file: nope.py"),
    (["list", "flows.py", "--store", "nope://x"], "unknown store URL scheme 'nope'"),
    (["pause", "quarter", "flows.py", "--store", "sqlite:///missing.db"], "no wfkit store at"),
]  # fmt: skip


def test_list_before_any_worker_made_the_store_shows_the_codes_schedules(workdir: Path) -> None:
    code, out, err = wfkit("schedules", "list", "flows.py", "--store", "sqlite:///missing.db")
    assert code == 0, err
    assert [row.split()[0] for row in out.splitlines()[1:]] == ["morning", "quarter"]
    assert "no store at " in err and "nothing has fired" in err
    assert not (workdir / "missing.db").exists()  # looking creates no store


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_the_store_untouched(
    workdir: Path, args: list[str], message: str
) -> None:
    fired_store(workdir).close()
    before = snapshot(workdir)
    has_store = any(a.startswith("--store") for a in args)
    store = [] if has_store else ["--store", store_url(workdir)]
    code, out, err = wfkit("schedules", *args, *store)
    assert code == 2
    assert message in one_error_line(err)
    assert out == ""
    assert snapshot(workdir) == before
    assert not (workdir / "missing.db").exists()


def test_the_unknown_name_error_lists_the_known_schedules(workdir: Path) -> None:
    fired_store(workdir).close()
    code, _, err = wfkit("schedules", "pause", "nope", "flows.py", "--store", store_url(workdir))
    assert code == 2
    assert "schedules: hourly, morning, quarter" in one_error_line(err)
    code, _, err = wfkit("schedules", "trigger", "nope", "flows.py", "--store", store_url(workdir))
    assert "schedules: morning, quarter" in one_error_line(err)


def test_trigger_with_an_unknown_name_creates_no_store(workdir: Path) -> None:
    code, _, err = wfkit("schedules", "trigger", "nope", "flows.py", "--store", store_url(workdir))
    assert code == 2 and "no schedule named" in one_error_line(err)
    assert not (workdir / "wfkit.db").exists()


# -- a real process ------------------------------------------------------------------------------
def test_schedules_commands_as_a_subprocess(workdir: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "WFKIT_STORE": store_url(workdir),
        "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wfkit.cli.main", "schedules", *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    triggered = run("trigger", "morning", "flows.py")
    assert triggered.returncode == 0, triggered.stderr
    paused = run("pause", "morning", "flows.py")
    assert paused.returncode == 0, paused.stderr
    listed = run("list", "flows.py", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    morning = next(s for s in json.loads(listed.stdout)["schedules"] if s["name"] == "morning")
    assert morning["paused"] is True
    assert dict(snapshot(workdir)[0]) == {triggered.stdout.strip(): "PENDING"}
    bad = run("backfill", "morning", "flows.py", "--from", "2026-01-01", "--to", "2026-01-02Z")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
