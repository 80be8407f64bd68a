"""The one clock: every timestamp, timer, backoff and timeout in wfkit comes from a ``Clock``.

The engine never reads the wall clock or the database's time directly. Production uses
:class:`SystemClock`; the test harness injects a virtual clock so a 7-day timeout takes
milliseconds and every timestamp is predictable.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a virtual clock advances instead of waiting)."""

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``event``; True if it was set."""


class SystemClock:
    """Real time. ``now()`` is UTC with microseconds, as the stores keep it."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class OffsetClock:
    """Real time shifted by ``offset_seconds``: a machine whose clock is off (ahead when
    positive). Waits are real. For testing what clock skew between workers does."""

    def __init__(self, offset_seconds: float, base: Clock | None = None) -> None:
        from datetime import timedelta

        self.offset = timedelta(seconds=offset_seconds)
        self._base = base or SystemClock()

    def now(self) -> datetime:
        return self._base.now() + self.offset

    def sleep(self, seconds: float) -> None:
        self._base.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return self._base.wait(event, seconds)


def utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class ManualClock:
    """Virtual time that moves only when told to (or when something sleeps on it).

    ``sleep`` advances time instantly instead of waiting, so retry delays, timers and event
    timeouts cost nothing in tests. Thread-safe: parallel steps may sleep at once.
    """

    virtual = True  # engines jump to the next timer instead of polling

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start is not None else datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        from datetime import timedelta

        with self._lock:
            if seconds > 0:
                self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            moment = utc(moment)
            if moment > self._now:
                self._now = moment

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.advance(seconds)
        return event.is_set()
