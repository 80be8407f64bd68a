"""Which runnable runs an engine claims, how many at once, and when it dequeues its queues
first (:mod:`wfkit.engine.queues` has the dequeue rules the stores apply).

Kept apart from :mod:`wfkit.engine.engine`: ``Engine.work_once``, ``recover`` and the worker
loop (:mod:`wfkit.engine.worker_loop`) all claim through one :class:`Claimer`, which holds
the one piece of state a claim keeps between calls, when this engine last dequeued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from wfkit.engine.core.runtime import Runtime
from wfkit.engine.queues import Queue
from wfkit.engine.store.base import RunRecord
from wfkit.errors import UsageError

# How often a busy engine dequeues at the least (it also does when nothing else is claimable).
QUEUE_PASS_EVERY = timedelta(seconds=0.1)


class Claimer:
    """Claims for one engine: ``queues`` is the engine's own dict of declared queues (a queue
    declared later is dequeued too)."""

    def __init__(self, rt: Runtime, queues: dict[str, Queue]) -> None:
        self._rt = rt
        self._queues = queues
        self._dequeued_at: datetime | None = None  # this engine's last dequeue pass

    def claim(
        self,
        limit: int,
        run_id: str | None,
        only_queues: Sequence[str] | None,
        workflows: list[str],
    ) -> list[tuple[RunRecord, datetime]]:
        """Up to ``limit`` runnable runs of ``workflows``, leased to this engine, each with
        the time its claim was sent (when its lease began)."""
        rt = self._rt
        now = rt.clock.now()
        until = now + timedelta(seconds=rt.lease_seconds)

        def claim(queues: Sequence[Queue] = ()) -> list[RunRecord]:
            return rt.store.claim(
                rt.owner,
                now,
                until,
                limit=limit,
                run_id=run_id,
                workflows=workflows,
                queues=queues,
                only_queues=only_queues,
            )

        if only_queues is None and not self._queues:
            claimed = claim()
        else:
            # Dequeue first, when due: whenever nothing dequeued before is left to claim, and
            # at least every ``QUEUE_PASS_EVERY`` while there is (so a worker kept busy by
            # runs on no queue still gives the queues their turn). A pass dequeues as many
            # runs as the limits allow, so most claims need none: a pass costs a few
            # statements.
            since = self._dequeued_at
            claimed = []
            if since is not None and now - since < QUEUE_PASS_EVERY:
                claimed = claim()
            if not claimed:
                self._dequeued_at = now
                claimed = claim(self._dequeued_by_me(only_queues))
        rt.health.answered(now)
        return [(run, now) for run in claimed]

    def _dequeued_by_me(self, only_queues: Sequence[str] | None) -> list[Queue]:
        if only_queues is None:
            return [self._queues[name] for name in sorted(self._queues)]
        return [self._queues[name] for name in sorted(set(only_queues))]

    def check_queue_names(self, names: Sequence[str]) -> list[str]:
        """``names`` sorted, each a declared queue (else a UsageError naming the unknown)."""
        unknown = sorted(set(names) - set(self._queues))
        if unknown:
            known = ", ".join(sorted(self._queues)) or "none declared"
            raise UsageError(
                f"unknown queue {unknown[0]!r} (known: {known})",
                hint="declare it: Engine(..., queues=[Queue(NAME, ...)]) in the workflow module",
            )
        return sorted(set(names))
