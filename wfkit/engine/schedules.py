"""When a workflow starts by itself: a cron expression, a fixed interval, a moment.

A schedule is a sequence of *ticks*, instants at which one run should start. Ticks are pure
functions of the schedule, never of when a worker happened to look, so every worker of a store
names the same ticks, and the run a tick starts gets an id made from the schedule's name and
the tick (``nightly@2026-03-29T01:00:00Z``): two workers that both see a tick due start one
run, because the store keeps one run per id. Nothing is held in memory between workers.

Cron expressions are read by cronsim (a small, maintained library that follows Debian cron,
DST included: a time skipped by a spring-forward runs when the clock jumps, a time repeated by
a fall-back runs once unless the expression names every hour). Time zones come from the
standard library's zoneinfo.

What happens when ticks meet the world is each schedule's policy:

* ``overlap``: a tick falls due while the schedule's previous run is still going. ``"skip"``
  (the default) drops it; ``"buffer_one"`` keeps it (one at most: later ones are dropped) and
  starts it when the previous run ends; ``"allow"`` starts it anyway.
* ``catchup``: ticks missed while no worker ran (downtime). ``"last"`` (the default) starts
  the most recent one; ``"skip"`` starts none of them (only a tick that falls due while a
  worker is running, found within ``grace`` of it); ``"all"`` starts each of them, the most
  recent ``catchup_limit`` at most.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from wfkit.errors import DefinitionError

__all__ = ["At", "Cron", "Every", "Schedule", "OVERLAP_POLICIES", "CATCHUP_POLICIES", "tick_id"]

OVERLAP_POLICIES = ("skip", "buffer_one", "allow")
CATCHUP_POLICIES = ("last", "skip", "all")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Ticks further apart than this are not looked for one by one (an At far in the past, say).
_MAX_TICKS = 100_000


@dataclass(frozen=True, kw_only=True)
class _Policy:
    """What every kind of schedule has: the run's input, its name and its policies."""

    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    overlap: str = "skip"
    catchup: str = "last"
    catchup_limit: int = 100
    grace: float = 60.0

    def _check_policy(self) -> None:
        if self.overlap not in OVERLAP_POLICIES:
            raise DefinitionError(
                f"schedule overlap={self.overlap!r} is not a policy",
                hint="one of " + ", ".join(repr(p) for p in OVERLAP_POLICIES),
            )
        if self.catchup not in CATCHUP_POLICIES:
            raise DefinitionError(
                f"schedule catchup={self.catchup!r} is not a policy",
                hint="one of " + ", ".join(repr(p) for p in CATCHUP_POLICIES),
            )
        if not _positive_int(self.catchup_limit):
            raise DefinitionError(
                f"schedule catchup_limit must be a positive integer, got {self.catchup_limit!r}"
            )
        if not _positive_number(self.grace):
            raise DefinitionError(
                f"schedule grace must be a positive number of seconds, got {self.grace!r}"
            )
        if isinstance(self.args, (str, bytes)) or not isinstance(self.args, Sequence):
            raise DefinitionError(
                f"schedule args must be a list or tuple, got {type(self.args).__name__}",
                hint='e.g. args=("eu",), or kwargs={"region": "eu"}',
            )
        if not isinstance(self.kwargs, Mapping) or not all(isinstance(k, str) for k in self.kwargs):
            raise DefinitionError(
                "schedule kwargs must be a dict with string keys", hint='kwargs={"region": "eu"}'
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise DefinitionError(f"schedule name must be a non-empty string, got {self.name!r}")


@dataclass(frozen=True, kw_only=True)
class Cron(_Policy):
    """Ticks where a five-field cron expression matches, in the time zone ``tz``:
    ``Cron("0 9 * * MON-FRI", tz="Europe/Berlin")``."""

    expression: str
    tz: str = "UTC"

    def __init__(self, expression: str, /, *, tz: str = "UTC", **policy: Any) -> None:
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "tz", tz)
        _Policy.__init__(self, **policy)
        self._check_policy()
        zone = _zone(tz)
        try:
            from cronsim import CronSim, CronSimError
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DefinitionError(
                "Cron schedules need cronsim", hint="pip install cronsim"
            ) from exc
        if not isinstance(expression, str):
            raise DefinitionError(f"a cron expression is a string, got {expression!r}")
        try:
            CronSim(expression, datetime.now(zone))
        except CronSimError as exc:
            raise DefinitionError(
                f"invalid cron expression {expression!r}: {exc}",
                hint='five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * MON-FRI"',
            ) from None

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        from cronsim import CronSim

        zone = _zone(self.tz)
        for local in CronSim(self.expression, after.astimezone(zone)):
            tick = local.astimezone(timezone.utc)
            if tick > until:
                return
            yield tick

    def describe(self) -> str:
        return f"cron {self.expression}" + ("" if self.tz == "UTC" else f" {self.tz}")


@dataclass(frozen=True, kw_only=True)
class Every(_Policy):
    """Ticks a fixed interval apart, counted from ``anchor`` (default: the Unix epoch, so
    ``Every(minutes=15)`` ticks at :00, :15, :30 and :45 on every worker)."""

    interval: timedelta
    anchor: datetime = _EPOCH

    def __init__(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        anchor: datetime | None = None,
        **policy: Any,
    ) -> None:
        for what, value in (("days", days), ("hours", hours), ("minutes", minutes)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise DefinitionError(f"Every({what}=...) must be a number >= 0, got {value!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise DefinitionError(f"Every(seconds=...) must be a number >= 0, got {seconds!r}")
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval < timedelta(seconds=1):
            raise DefinitionError(
                f"Every(...) needs an interval of at least one second, got {interval}",
                hint="e.g. Every(minutes=15)",
            )
        if anchor is not None:
            _check_aware(anchor, "Every(anchor=...)")
        object.__setattr__(self, "interval", interval)
        object.__setattr__(self, "anchor", anchor.astimezone(timezone.utc) if anchor else _EPOCH)
        _Policy.__init__(self, **policy)
        self._check_policy()

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        # The first tick strictly after ``after``, in whole intervals from the anchor.
        n = (after - self.anchor) // self.interval + 1
        n = max(n, 0)
        while True:
            tick = self.anchor + self.interval * n
            if tick > until:
                return
            yield tick
            n += 1

    def describe(self) -> str:
        return f"every {_interval_text(self.interval)}"


@dataclass(frozen=True, kw_only=True)
class At(_Policy):
    """One tick, at ``when`` (an aware datetime): a run to start once, later."""

    when: datetime

    def __init__(self, when: datetime, /, **policy: Any) -> None:
        _check_aware(when, "At(...)")
        object.__setattr__(self, "when", when.astimezone(timezone.utc))
        _Policy.__init__(self, **policy)
        self._check_policy()

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        if after < self.when <= until:
            yield self.when

    def describe(self) -> str:
        return f"at {_utc_text(self.when)}"


Schedule = Cron | Every | At


def tick_id(schedule_name: str, tick: datetime) -> str:
    """The id of the run a tick starts: the same on every worker, so a tick starts one run."""
    return f"{schedule_name}@{_utc_text(tick)}"


def due_ticks(schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """The ticks in (after, until], oldest first; the most recent ``_MAX_TICKS`` at most."""
    ticks: list[datetime] = []
    for tick in schedule.ticks(after, until):
        ticks.append(tick)
        if len(ticks) > _MAX_TICKS:
            del ticks[: len(ticks) - _MAX_TICKS]
    return ticks


def next_tick(schedule: Schedule, after: datetime) -> datetime | None:
    """The first tick after ``after``, or None when there is none (an At that has passed)."""
    horizon = after + timedelta(days=366 * 30)
    return next(iter(schedule.ticks(after, horizon)), None)


def _utc_text(moment: datetime) -> str:
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def _interval_text(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    if seconds != interval.total_seconds():
        return f"{interval.total_seconds()}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        raise DefinitionError(f"unknown time zone {name!r}", hint='e.g. tz="Europe/Berlin"')
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DefinitionError(
            f"unknown time zone {name!r}",
            hint='an IANA name such as "Europe/Berlin" (pip install tzdata where the system '
            "has no time zone database)",
        ) from None


def _check_aware(moment: object, what: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise DefinitionError(
            f"{what} needs an aware datetime, got {moment!r}",
            hint="e.g. datetime(2027, 1, 1, 9, tzinfo=timezone.utc)",
        )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
