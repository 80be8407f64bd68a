"""Run and operation statuses, shared by the core, the stores and the CLI."""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    QUEUED = "QUEUED"  # on a queue, not yet dequeued: no worker claims it (wfkit.engine.queues)
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SLEEPING = "SLEEPING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    def __str__(self) -> str:
        return self.value


TERMINAL = frozenset(
    {RunStatus.COMPLETED, RunStatus.COMPENSATED, RunStatus.FAILED, RunStatus.CANCELLED}
)
# Statuses a worker may pick up right away (if no live lease holds the run).
ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING, RunStatus.COMPENSATING})
# Statuses a worker picks up once ``wake_at`` has passed.
PARKED = frozenset({RunStatus.SLEEPING, RunStatus.WAITING})


class OpKind(str, Enum):
    STEP = "step"
    SLEEP = "sleep"
    EVENT = "event"
    CHILD = "child"
    PATCH = "patch"
    COMPENSATION = "compensation"

    def __str__(self) -> str:
        return self.value


class OpStatus(str, Enum):
    STARTED = "STARTED"  # an attempt is running (or a timer/wait has begun)
    RETRYING = "RETRYING"  # an attempt failed; next_attempt_at says when the next one runs
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"  # failed for good (retries exhausted or not retryable)
    SKIPPED = "SKIPPED"  # a person recorded a result with `wfkit skip-step`

    def __str__(self) -> str:
        return self.value
