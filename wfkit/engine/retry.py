"""Retry policy: how many attempts a step gets, which errors are worth another try, and how long
to wait before it.

A :class:`Retry` is a frozen value checked when it is built (so ``@step(retry=...)`` fails at
import, not mid-run). It only answers pure questions; the engine keeps the attempt count and the
next-attempt time durably, so a crash never resets a retry budget. Randomness (jitter) comes from
the ``random.Random`` the engine passes in, seeded per run, never from the global generator: the
same run waits the same way in tests, on replay and in another process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from wfkit.errors import DefinitionError

__all__ = ["BACKOFFS", "DEFAULT_COMPENSATION_RETRY", "DEFAULT_STEP_RETRY", "Backoff", "Retry"]

BACKOFFS = ("fixed", "linear", "exponential")
Backoff = Literal["fixed", "linear", "exponential"] | Callable[[int], float]


@dataclass(frozen=True)
class Retry:
    """A step's retry policy.

    ``attempts`` counts every try, the first included (``attempts=1``: no retry). The wait after
    failed attempt ``n`` (1-based) is, before the ``max_delay`` cap:

    * ``"fixed"``: ``initial``
    * ``"linear"``: ``initial * n``
    * ``"exponential"``: ``initial * 2 ** (n - 1)``
    * a callable: ``backoff(n)`` seconds

    ``jitter=True`` applies *equal jitter* (AWS Architecture Blog, "Exponential Backoff And
    Jitter"): a wait ``d`` becomes ``d/2 + uniform(0, d/2)``. It keeps at least half the wait, so
    a struggling service is never hit again at once, and spreads the rest so that runs that
    failed together do not all retry together. A jittered wait stays within ``[d/2, d]``, hence
    never above ``max_delay``.

    An error is retried when it is an instance of ``retry_on`` and not of ``no_retry_on`` (which
    wins). Both take one exception class or a tuple. ``retry_on`` takes only ``Exception``
    subclasses: ``KeyboardInterrupt``, ``SystemExit``, ``asyncio.CancelledError`` and wfkit's
    simulated crashes derive from ``BaseException`` precisely so that nothing retries them.
    """

    attempts: int = 3
    backoff: Backoff = "exponential"
    initial: float = 1.0
    max_delay: float = 300.0
    jitter: bool = False
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    no_retry_on: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise self._invalid(
                f"attempts must be an int, got {self.attempts!r}",
                "attempts=3 (every try, the first included)",
            )
        if self.attempts < 1:
            raise self._invalid(
                f"attempts must be at least 1, got {self.attempts}",
                "use Retry.none() (attempts=1) for a step that must not retry",
            )
        if isinstance(self.backoff, str):
            if self.backoff not in BACKOFFS:
                raise self._invalid(
                    f"unknown backoff {self.backoff!r}",
                    "use 'fixed', 'linear', 'exponential' or a callable attempt -> seconds",
                )
        elif not callable(self.backoff):
            raise self._invalid(
                f"backoff must be a name or a callable, got {self.backoff!r}",
                "use 'fixed', 'linear', 'exponential' or a callable attempt -> seconds",
            )
        for name in ("initial", "max_delay"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value >= 0)
            ):
                raise self._invalid(
                    f"{name} must be a finite number of seconds >= 0, got {value!r}", f"{name}=1.0"
                )
        if self.max_delay < self.initial:
            raise self._invalid(
                f"max_delay ({self.max_delay:g}) is below initial ({self.initial:g})",
                "raise max_delay or lower initial: the cap applies to every wait",
            )
        if not isinstance(self.jitter, bool):
            raise self._invalid(f"jitter must be True or False, got {self.jitter!r}", "jitter=True")
        object.__setattr__(self, "retry_on", self._exception_types("retry_on", self.retry_on))
        object.__setattr__(
            self, "no_retry_on", self._exception_types("no_retry_on", self.no_retry_on)
        )

    @classmethod
    def none(cls) -> Retry:
        """One attempt, no retry: for steps whose effect must not be repeated on failure."""
        return cls(attempts=1)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), capped at
        ``max_delay`` and jittered with ``rng`` when ``jitter`` is on."""
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt!r}")
        wait = min(self._base_delay(attempt), self.max_delay)
        if self.jitter:
            half = wait / 2
            wait = min(half + rng.uniform(0, half), self.max_delay)
        return float(wait)

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether failed attempt number ``attempt`` (1-based) is followed by another one: an
        attempt is left and ``exc`` matches ``retry_on`` but not ``no_retry_on``."""
        return (
            attempt < self.attempts
            and isinstance(exc, self.retry_on)
            and not isinstance(exc, self.no_retry_on)
        )

    def _base_delay(self, attempt: int) -> float:
        if self.backoff == "fixed":
            return self.initial
        if self.backoff == "linear":
            return self.initial * attempt
        if self.backoff == "exponential":
            if self.initial == 0:
                return 0.0
            try:
                return self.initial * math.pow(2.0, attempt - 1)
            except OverflowError:  # thousands of attempts: the cap applies anyway
                return math.inf
        assert callable(self.backoff)
        value = self.backoff(attempt)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or math.isnan(value)
            or value < 0
        ):
            raise self._invalid(
                f"the backoff callable returned {value!r} for attempt {attempt}",
                "return a number of seconds >= 0",
            )
        return float(value)

    def _exception_types(self, name: str, value: object) -> tuple[type[BaseException], ...]:
        items = value if isinstance(value, (tuple, list)) else (value,)
        for item in items:
            if not (isinstance(item, type) and issubclass(item, BaseException)):
                shown = (
                    f"an instance of {type(item).__name__} (pass the class)"
                    if isinstance(item, BaseException)
                    else repr(item)
                )
                raise self._invalid(
                    f"{name} must hold exception classes, got {shown}",
                    f"{name}=(TimeoutError, ConnectionError)",
                )
            if name == "retry_on" and not issubclass(item, Exception):
                raise self._invalid(
                    f"retry_on cannot hold {item.__name__}: it is not an Exception subclass",
                    "retry Exception subclasses only; BaseException ones (KeyboardInterrupt, "
                    "SystemExit, cancellations, simulated crashes) must stop the step",
                )
        return tuple(items)

    def _invalid(self, problem: str, hint: str) -> DefinitionError:
        return DefinitionError(f"invalid Retry: {problem}", hint=hint)


# One retry after 1 s, another after 2 s: enough for the blips that clear in seconds (a dropped
# connection, a 503, a lock timeout) while a real failure still reaches compensation quickly.
# Steps that need more say so with their own policy.
DEFAULT_STEP_RETRY = Retry(attempts=3, backoff="exponential", initial=1.0, max_delay=60.0)

# Compensations retry much longer: 10 attempts over about 4 minutes (1, 2, 4, ... 32, then 60 s
# each). A compensation that fails for good leaves the run FAILED with effects half undone and a
# person to page, and it often fails for the same reason the step did (the service is down), so
# riding out a short outage is worth the wait. The 60 s cap means a recovered service is used
# within a minute. Compensations must be idempotent anyway (they are at-least-once).
DEFAULT_COMPENSATION_RETRY = Retry(attempts=10, backoff="exponential", initial=1.0, max_delay=60.0)
