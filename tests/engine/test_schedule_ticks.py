"""Ticks: the instants a schedule names, the same on every worker whenever it looks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wfkit.engine.schedules import At, Cron, Every, due_ticks, next_tick, tick_id
from wfkit.errors import DefinitionError

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_year_of_weekday_mornings_in_berlin() -> None:
    cron = Cron("0 9 * * MON-FRI", tz="Europe/Berlin")
    start = datetime(2026, 1, 1, tzinfo=BERLIN)
    ticks = due_ticks(cron, start, datetime(2027, 1, 1, tzinfo=BERLIN))
    assert len(ticks) == 261  # the weekdays of 2026
    local = [t.astimezone(BERLIN) for t in ticks]
    assert all(t.hour == 9 and t.minute == 0 and t.weekday() < 5 for t in local)
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    assert {t.hour for t in ticks} == {7, 8}
    assert all(t.tzinfo == UTC for t in ticks)


def test_a_time_skipped_by_spring_forward_runs_when_the_clock_jumps() -> None:
    cron = Cron("30 2 * * *", tz="Europe/Berlin")
    ticks = due_ticks(
        cron, datetime(2026, 3, 28, 12, tzinfo=BERLIN), datetime(2026, 3, 30, 12, tzinfo=BERLIN)
    )
    assert [t.astimezone(BERLIN).isoformat() for t in ticks] == [
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist that night
        "2026-03-30T02:30:00+02:00",
    ]


def test_a_time_repeated_by_fall_back_runs_once_unless_every_hour_is_named() -> None:
    night = (datetime(2026, 10, 25, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 4, tzinfo=BERLIN))
    once = due_ticks(Cron("30 2 * * *", tz="Europe/Berlin"), *night)
    assert [t.isoformat() for t in once] == ["2026-10-25T00:30:00+00:00"]
    hourly = due_ticks(Cron("30 * * * *", tz="Europe/Berlin"), *night)
    # 00:30, 01:30, 02:30 (summer time), 02:30 (winter time), 03:30: five distinct instants.
    assert len(hourly) == len(set(hourly)) == 5


def test_every_is_aligned_to_its_anchor_on_every_worker() -> None:
    every = Every(minutes=15)
    looked_at = datetime(2026, 5, 1, 10, 7, 13, tzinfo=UTC)
    assert [t.minute for t in due_ticks(every, looked_at, looked_at + timedelta(hours=1))] == [
        15,
        30,
        45,
        0,
    ]
    anchored = Every(hours=1, anchor=datetime(2026, 1, 1, 0, 20, tzinfo=UTC))
    assert next_tick(anchored, looked_at) == datetime(2026, 5, 1, 10, 20, tzinfo=UTC)


def test_at_is_one_tick_and_then_none() -> None:
    when = datetime(2027, 1, 1, 9, tzinfo=BERLIN)
    once = At(when)
    assert due_ticks(once, when - timedelta(days=1), when + timedelta(days=1)) == [when]
    assert due_ticks(once, when, when + timedelta(days=1)) == []
    assert next_tick(once, when) is None


def test_a_ticks_run_id_is_the_schedule_and_the_tick_in_utc() -> None:
    tick = datetime(2026, 3, 29, 3, tzinfo=BERLIN)
    assert tick_id("nightly", tick) == "nightly@2026-03-29T01:00:00Z"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Cron("61 * * * *"), "invalid cron expression '61 * * * *'"),
        (lambda: Cron("* * *"), "invalid cron expression"),
        (lambda: Cron("* * * * *", tz="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda: Every(), "at least one second"),
        (lambda: Every(minutes=-5), "Every(minutes=...) must be a number >= 0"),
        (lambda: At(datetime(2027, 1, 1)), "needs an aware datetime"),
        (lambda: Cron("* * * * *", overlap="queue"), "overlap='queue' is not a policy"),
        (lambda: Cron("* * * * *", catchup="some"), "catchup='some' is not a policy"),
        (lambda: Cron("* * * * *", catchup_limit=0), "catchup_limit must be a positive integer"),
        (lambda: Cron("* * * * *", args="eu"), "args must be a list or tuple"),
        (lambda: Cron("* * * * *", kwargs={1: "x"}), "kwargs must be a dict with string keys"),
        (lambda: Cron("* * * * *", name=" "), "name must be a non-empty string"),
    ],
)
def test_a_bad_schedule_is_a_definition_error_naming_the_problem(make, message) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        make()
