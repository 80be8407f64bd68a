"""Schedules on an engine: ticks start runs on a virtual clock, under every policy, once.

The year, the DST nights and the downtime all pass on a ManualClock in milliseconds; a test at
the end runs three real worker processes on one SQLite file for a few real seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wfkit import At, Context, Cron, Engine, Every, step, workflow
from wfkit.engine.clock import ManualClock
from wfkit.engine.status import RunStatus
from wfkit.engine.store.memory import MemoryStore
from wfkit.errors import DefinitionError, UsageError

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@step
def report_for(region: str) -> str:
    return f"report {region}"


@workflow(schedule=Cron("0 9 * * MON-FRI", tz="Europe/Berlin", kwargs={"region": "eu"}))
def morning_report(ctx: Context, region: str) -> str:
    return ctx.step(report_for, region)


def engine_at(start: datetime, *workflows: Any) -> Engine:
    return Engine(MemoryStore(), workflows=list(workflows), clock=ManualClock(start))


def live(engine: Engine, hours: float, every: float = 1.0) -> list[str]:
    """Let ``hours`` pass like a worker would: fire, run what is runnable, move the clock."""
    started: list[str] = []
    steps = round(hours / every)
    for _ in range(steps):
        engine.clock.advance(every * 3600)
        started += engine.schedules.fire()
        while engine.work_once():
            pass
    return started


def test_a_year_of_weekday_mornings_starts_one_run_per_tick_with_its_input() -> None:
    engine = engine_at(T0, morning_report)
    started = live(engine, 24 * 365)
    assert len(started) == len(set(started)) == 261
    assert started[0] == "morning_report@2026-01-01T08:00:00Z"
    assert started[-1] == "morning_report@2026-12-31T08:00:00Z"
    runs = engine.list_runs()
    assert len(runs) == 261 and {r.status for r in runs} == {RunStatus.COMPLETED}
    assert engine.result(started[0]) == "report eu"
    (info,) = engine.schedules.all()
    assert info.next_fire == datetime(2027, 1, 1, 8, tzinfo=UTC)  # a Friday, 09:00 in Berlin
    assert info.last_run_id == started[-1] and info.describe.startswith("cron 0 9 * * MON-FRI")


@workflow(schedule=Cron("30 2 * * *", tz="Europe/Berlin"))
def nightly(ctx: Context) -> str:
    return "done"


def test_dst_nights_in_berlin() -> None:
    engine = engine_at(datetime(2026, 3, 28, 12, tzinfo=UTC), nightly)
    spring = live(engine, 48, every=0.25)
    assert spring == ["nightly@2026-03-29T01:00:00Z", "nightly@2026-03-30T00:30:00Z"]
    engine = engine_at(datetime(2026, 10, 24, 12, tzinfo=UTC), nightly)
    autumn = live(engine, 48, every=0.25)
    assert autumn == ["nightly@2026-10-25T00:30:00Z", "nightly@2026-10-26T01:30:00Z"]


def make_hourly(**policy: Any) -> Any:
    @workflow(name="hourly", schedule=Every(hours=1, **policy))
    def hourly(ctx: Context) -> str:
        return "ok"

    return hourly


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [
        ("last", ["hourly@2026-01-01T10:00:00Z"]),
        ("skip", []),
        ("all", [f"hourly@2026-01-01T{h:02d}:00:00Z" for h in range(6, 11)]),
    ],
)
def test_downtime_is_caught_up_by_policy(catchup: str, expected: list[str]) -> None:
    # overlap="allow": with "skip", a catch-up's first run would hold back the ticks after it.
    engine = engine_at(T0, make_hourly(catchup=catchup, catchup_limit=5, overlap="allow"))
    assert live(engine, 2) == ["hourly@2026-01-01T01:00:00Z", "hourly@2026-01-01T02:00:00Z"]
    engine.clock.advance(8.5 * 3600)  # no worker from 02:00 to 10:30
    assert engine.schedules.fire() == expected
    assert engine.schedules.fire() == []  # handled: nothing twice


@workflow(name="waits", schedule=Every(hours=1, overlap="skip"))
def waits_skip(ctx: Context) -> str:
    return ctx.wait_for_event("go")


def overlapping(policy: str) -> Any:
    @workflow(name=f"waits-{policy}", schedule=Every(hours=1, overlap=policy))
    def waits(ctx: Context) -> Any:
        return ctx.wait_for_event("go")

    return waits


def test_overlap_skip_drops_ticks_while_the_last_run_is_live() -> None:
    engine = engine_at(T0, overlapping("skip"))
    assert live(engine, 3) == ["waits-skip@2026-01-01T01:00:00Z"]
    engine.send_event("waits-skip@2026-01-01T01:00:00Z", "go")
    while engine.work_once():
        pass
    assert live(engine, 1) == ["waits-skip@2026-01-01T04:00:00Z"]


def test_overlap_buffer_one_keeps_the_first_tick_and_starts_it_after() -> None:
    engine = engine_at(T0, overlapping("buffer_one"))
    assert live(engine, 3) == ["waits-buffer_one@2026-01-01T01:00:00Z"]
    (info,) = engine.schedules.all()
    assert info.buffered_tick == datetime(2026, 1, 1, 2, tzinfo=UTC)  # 03:00 was dropped
    engine.send_event("waits-buffer_one@2026-01-01T01:00:00Z", "go")
    while engine.work_once():
        pass
    assert engine.schedules.fire() == ["waits-buffer_one@2026-01-01T02:00:00Z"]
    assert engine.schedules.all()[0].buffered_tick is None


def test_overlap_allow_starts_every_tick() -> None:
    engine = engine_at(T0, overlapping("allow"))
    assert len(live(engine, 3)) == 3
    assert {r.status for r in engine.list_runs()} == {RunStatus.WAITING}


def test_pause_and_resume_and_the_catch_up_after() -> None:
    engine = engine_at(T0, make_hourly())
    assert len(live(engine, 2)) == 2
    engine.schedules.pause("hourly")
    assert live(engine, 5) == []
    assert engine.schedules.all()[0].paused and engine.schedules.all()[0].next_fire is None
    engine.schedules.resume("hourly")
    assert engine.schedules.fire() == ["hourly@2026-01-01T07:00:00Z"]  # catchup="last"
    with pytest.raises(UsageError, match="no schedule named 'nope'") as unknown:
        engine.schedules.pause("nope")
    assert unknown.value.hint == "schedules: hourly"


def test_trigger_now_and_backfill_a_range() -> None:
    engine = engine_at(T0 + timedelta(minutes=30), make_hourly())
    handle = engine.schedules.trigger("hourly")
    assert handle.id == "hourly@2026-01-01T00:30:00Z" and handle.result() == "ok"
    ids = engine.schedules.backfill(
        "hourly", datetime(2025, 12, 31, 21, tzinfo=UTC), datetime(2025, 12, 31, 23, tzinfo=UTC)
    )
    assert ids == [f"hourly@2025-12-31T{h}:00:00Z" for h in (21, 22, 23)]
    assert engine.schedules.backfill("hourly", T0 - timedelta(hours=3), T0) == [
        *ids,
        "hourly@2026-01-01T00:00:00Z",
    ]  # the ticks that had their run are not started again
    assert len(engine.list_runs()) == 5
    with pytest.raises(UsageError, match="ends .* before it starts"):
        engine.schedules.backfill("hourly", T0, T0 - timedelta(hours=1))


class LosesItsWrites(MemoryStore):
    """A store whose schedule writes never land: a worker that crashed right after starting
    a tick's run, or lost the write to another worker."""

    def save_schedule(self, state: Any) -> bool:
        return False


def test_a_tick_starts_once_however_many_engines_fire_it() -> None:
    store = MemoryStore()
    clock = ManualClock(T0)
    flow = make_hourly(overlap="allow")
    a = Engine(store, workflows=[flow], clock=clock)
    b = Engine(store, workflows=[flow], clock=clock)
    a.schedules.fire()
    clock.advance(3600)
    assert a.schedules.fire() == ["hourly@2026-01-01T01:00:00Z"]
    assert b.schedules.fire() == []  # a recorded the tick
    # A pass whose record is lost started its run; the next pass starts the same id: no new run.
    lossy = LosesItsWrites()
    first = Engine(lossy, workflows=[flow], clock=ManualClock(T0 + timedelta(minutes=59)))
    second = Engine(lossy, workflows=[flow], clock=first.clock)
    first.clock.advance(90)  # 01:00:30: the 01:00 tick is within grace
    assert first.schedules.fire() == second.schedules.fire() == ["hourly@2026-01-01T01:00:00Z"]
    assert [r.id for r in lossy.list_runs()] == ["hourly@2026-01-01T01:00:00Z"]


def test_a_one_off_at_starts_once() -> None:
    @workflow(name="once", schedule=At(datetime(2026, 1, 1, 5, tzinfo=UTC)))
    def once(ctx: Context) -> str:
        return "once"

    engine = engine_at(T0, once)
    assert live(engine, 24) == ["once@2026-01-01T05:00:00Z"]


def test_schedules_that_cannot_work_are_refused_at_registration() -> None:
    @workflow(name="needs_region", schedule=Every(hours=1))
    def needs_region(ctx: Context, region: str) -> str:
        return region

    with pytest.raises(DefinitionError, match="schedule 'needs_region'.*input does not fit"):
        Engine(MemoryStore(), workflows=[needs_region])

    @workflow(name="other", schedule=Every(hours=2, name="hourly"))
    def other(ctx: Context) -> str:
        return "x"

    with pytest.raises(DefinitionError, match="both have a schedule named 'hourly'"):
        Engine(MemoryStore(), workflows=[make_hourly(), other])

    def twice(ctx: Context) -> None:
        pass

    with pytest.raises(DefinitionError, match="2 schedules: name each one"):
        workflow(schedule=[Every(hours=1), Every(hours=2)])(twice)


FLOWS = """
    from wfkit import Context, step, workflow
    from wfkit.engine.schedules import Every

    @step
    def note(run_id: str) -> None:
        with open("executions.log", "a") as log:
            log.write(run_id + "\\n")

    @workflow(schedule=Every(seconds=1, overlap="allow", catchup="all"))
    def ticker(ctx: Context) -> None:
        note(ctx.workflow_id)
"""


def test_three_worker_processes_on_one_sqlite_file_start_every_tick_once(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    env = {**os.environ, "WFKIT_STORE": f"sqlite:///{tmp_path / 'wfkit.db'}"}
    command = [sys.executable, "-m", "wfkit.cli.main", "worker", "flows.py"]
    workers = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    time.sleep(6)
    for w in workers:
        w.terminate()
    for w in workers:
        _, err = w.communicate(timeout=30)
        assert w.returncode in (0, -15), err
    lines = (tmp_path / "executions.log").read_text().split()
    assert len(lines) == len(set(lines)) >= 3  # no tick ran twice
    ticks = sorted(
        datetime.fromisoformat(line.split("@")[1].replace("Z", "+00:00")) for line in lines
    )
    gaps = {(b - a).total_seconds() for a, b in zip(ticks, ticks[1:])}
    assert gaps == {1.0}  # and none was missed between the first and the last
