"""Retry policy (interim version; the full module replaces it)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    backoff: Any = "exponential"
    initial: float = 1.0
    max_delay: float = 300.0
    jitter: bool = False
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    no_retry_on: tuple[type[BaseException], ...] = ()

    def delay(self, attempt: int, rng: random.Random) -> float:
        if callable(self.backoff):
            d = float(self.backoff(attempt))
        elif self.backoff == "fixed":
            d = self.initial
        elif self.backoff == "linear":
            d = self.initial * attempt
        else:
            d = self.initial * 2 ** (attempt - 1)
        d = min(d, self.max_delay)
        return d / 2 + rng.uniform(0, d / 2) if self.jitter else d

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        return attempt < self.attempts and isinstance(exc, self.retry_on) and not isinstance(
            exc, self.no_retry_on)

    @classmethod
    def none(cls) -> "Retry":
        return cls(attempts=1)


DEFAULT_STEP_RETRY = Retry(attempts=3, backoff="exponential", initial=1.0, max_delay=60.0)
DEFAULT_COMPENSATION_RETRY = Retry(attempts=10, backoff="exponential", initial=1.0,
                                   max_delay=60.0)
