"""Virtual time for tests: one clock for the engine and, through freezegun, for user code.

The harness's own timers run on :class:`~wfkit.engine.clock.ManualClock`; freezegun only makes
``datetime.now()`` / ``time.time()`` in steps and workflow bodies agree with it. asyncio keeps
real monotonic time (``real_asyncio=True``) so an event loop can never freeze into a hang.
Starting freezegun costs milliseconds (it scans loaded modules), so ``verify`` starts it once and
every run inside moves it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from wfkit.engine.clock import ManualClock


class FrozenTime:
    """A started freezegun freezer that follows a clock; ``None``-safe when disabled."""

    def __init__(self, start: datetime, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._freezer: Any = None
        self._factory: Any = None
        self._start = start

    def __enter__(self) -> FrozenTime:
        if self._enabled:
            import freezegun

            # Hypothesis times its own search and shrinking: it must see real time, or a
            # virtual week of downtime looks like a week spent shrinking.
            self._freezer = freezegun.freeze_time(
                self._start, real_asyncio=True, ignore=["hypothesis"]
            )
            self._factory = self._freezer.start()
        return self

    def move_to(self, moment: datetime) -> None:
        if self._factory is not None:
            self._factory.move_to(moment.astimezone(timezone.utc).replace(tzinfo=None))

    def __exit__(self, *exc: object) -> None:
        if self._freezer is not None:
            self._freezer.stop()
            self._freezer = self._factory = None


class FollowedClock(ManualClock):
    """A ManualClock that moves a FrozenTime along with it."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.frozen: FrozenTime | None = None

    def advance(self, seconds: float) -> datetime:
        moment = super().advance(seconds)
        if self.frozen is not None:
            self.frozen.move_to(moment)
        return moment

    def set(self, moment: datetime) -> None:
        super().set(moment)
        if self.frozen is not None:
            self.frozen.move_to(self.now())


def parse_start(start: str | datetime | None) -> datetime:
    if start is None:
        return datetime(2026, 1, 1, tzinfo=timezone.utc)
    if isinstance(start, datetime):
        return start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    from wfkit.errors import UsageError

    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"start={start!r} is not an ISO 8601 time", hint='use e.g. "2026-01-01T00:00:00Z"'
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
