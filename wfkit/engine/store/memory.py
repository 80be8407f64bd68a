"""An in-process store: the test harness's backend and the reference for the store contract.

Everything lives in dicts guarded by one lock; records are copied in and out so callers can
never mutate stored state by accident (the same isolation a database gives).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import ACTIVE, PARKED, OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import (
    CancelRequested,
    Checkpoint,
    EventRecord,
    HistoryEntry,
    LeaseLost,
    OperationRecord,
    PatchMark,
    RunRecord,
    ScheduleState,
    finished_statuses,
    op_snapshot,
    sort_marks,
)
from wfkit.engine.store.memory_queues import MemoryQueues
from wfkit.engine.store.sql_shared import check_access


class MemoryStore:
    def __init__(self, url: str = "memory://", *, access: str = "create") -> None:
        """A memory store always starts empty, so only ``access="create"`` finds one: a
        command that reads or repairs an existing store has nothing to look at here."""
        check_access(0, 1, url, access)
        self.url = url
        self._lock = threading.RLock()
        self._runs: dict[str, RunRecord] = {}
        self._ops: dict[str, dict[int, OperationRecord]] = {}
        self._events: list[EventRecord] = []
        self._event_ids = 0  # ids are never reused, even after runs are deleted
        self._history: dict[str, list[HistoryEntry]] = {}
        self._schedules: dict[str, ScheduleState] = {}
        self._queues = MemoryQueues()
        self._paused_workflows: dict[str, datetime] = {}

    # -- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        run: RunRecord,
        history: Sequence[HistoryEntry],
        *,
        queue: QueueEntry | None = None,
    ) -> tuple[RunRecord, bool]:
        with self._lock:
            existing = self._runs.get(run.id)
            if existing is not None:
                return copy.copy(existing), False
            if queue is not None:
                self._queues.check_dedup(queue, self._runs)
                self._queues.add(run.id, queue, run.created_at)
            self._runs[run.id] = copy.copy(run)
            self._ops[run.id] = {}
            self._history[run.id] = []
            self._append_history(run.id, history)
            return copy.copy(run), True

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            run = self._runs.get(run_id)
            return copy.copy(run) if run else None

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        workflow: str | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
        before: tuple[datetime, str] | None = None,
        queue: str | None = None,
    ) -> list[RunRecord]:
        with self._lock:
            on_queue = None if queue is None else self._queues.queued_ids([queue])
            runs = [
                r
                for r in self._runs.values()
                if (status is None or r.status == status)
                and (workflow is None or r.workflow == workflow)
                and (parent_id is None or r.parent_id == parent_id)
                and (before is None or (r.created_at, r.id) < before)
                and (on_queue is None or r.id in on_queue)
            ]
            runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            return [copy.copy(r) for r in (runs if limit is None else runs[: max(limit, 0)])]

    def count_runs(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        with self._lock:
            counts: dict[RunStatus, int] = {}
            for r in self._runs.values():
                if workflow is None or r.workflow == workflow:
                    counts[r.status] = counts.get(r.status, 0) + 1
            return counts

    def steps_done(self, run_ids: Sequence[str]) -> dict[str, int]:
        with self._lock:
            return {
                run_id: sum(
                    1
                    for op in self._ops.get(run_id, {}).values()
                    if op.kind == OpKind.STEP
                    and op.status in (OpStatus.COMPLETED, OpStatus.SKIPPED)
                )
                for run_id in run_ids
            }

    def operations(self, run_id: str) -> list[OperationRecord]:
        with self._lock:
            ops = self._ops.get(run_id, {})
            return [copy.copy(ops[seq]) for seq in sorted(ops)]

    # -- the one write path -------------------------------------------------------------------
    async def commit_async(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """:meth:`commit`: it never waits on a disk, so a worker's event loop may call it."""
        return self.commit(run_id, checkpoint, lease_owner=lease_owner, now=now)

    def commit(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                raise KeyError(run_id)
            if checkpoint.unless_cancelled and run.cancel_requested:
                raise CancelRequested(run_id)
            if lease_owner is not None:
                expired = (
                    now is not None
                    and run.lease_expires_at is not None
                    and run.lease_expires_at < now
                )
                if run.lease_owner != lease_owner or expired:
                    raise LeaseLost(run_id, lease_owner)
            # Validate the run's field names before anything is written: a failing commit
            # writes nothing (atomicity), as a database transaction would.
            unknown = [k for k in checkpoint.run if k not in _RUN_FIELDS]
            if unknown:
                raise TypeError(f"Checkpoint.run has unknown RunRecord field(s): {unknown}")
            if checkpoint.consume_event is not None:
                event_id, seq = checkpoint.consume_event
                for event in self._events:
                    if event.id == event_id:
                        event.consumed_seq = seq
            ops = self._ops[run_id]
            for seq in checkpoint.discard_operations:
                ops.pop(seq, None)
            for op in checkpoint.operations:  # stored under, and stamped with, this run
                stored = _clone(op)
                stored.run_id = run_id
                ops[op.seq] = stored
            changes = dict(checkpoint.run)
            if checkpoint.wake_on_events and any(
                e.run_id == run_id
                and e.consumed_seq is None
                and e.name in checkpoint.wake_on_events
                for e in self._events
            ):
                changes["wake_at"] = now
            if checkpoint.release_lease:
                changes.update(lease_owner=None, lease_expires_at=None)
            if changes:
                run = _clone(run)
                for key, value in changes.items():
                    setattr(run, key, value)
                self._runs[run_id] = run
            self._append_history(run_id, checkpoint.history)
            for target, name, payload in checkpoint.send_events:
                assert now is not None, "send_events needs now"
                self._add_event(target, name, payload, now)
            return self._stops(self._runs[run_id])

    def _stops(self, run: RunRecord) -> bool:
        """commit's flag: a cancel requested, the run paused or its workflow paused."""
        return run.cancel_requested or run.paused or run.workflow in self._paused_workflows

    def _append_history(self, run_id: str, entries: Sequence[HistoryEntry]) -> None:
        log = self._history[run_id]
        for entry in entries:
            data = op_snapshot(entry.op) if entry.op is not None else _copy_json(entry.data)
            log.append(
                HistoryEntry(
                    run_id=run_id,
                    at=entry.at,
                    type=entry.type,
                    seq=entry.seq,
                    name=entry.name,
                    data=data,
                    index=len(log),
                )
            )

    # -- events -------------------------------------------------------------------------------
    def add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        with self._lock:
            return copy.copy(self._add_event(run_id, name, payload, at))

    def _add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        """Append to the inbox and wake a WAITING run (the caller holds the lock)."""
        self._event_ids += 1
        event = EventRecord(
            id=self._event_ids, run_id=run_id, name=name, payload=payload, sent_at=at
        )
        self._events.append(event)
        run = self._runs.get(run_id)
        if run is not None and run.status == RunStatus.WAITING:
            self._runs[run_id] = replace(run, wake_at=at)
        return event

    def pending_events(self, run_id: str, name: str) -> list[EventRecord]:
        with self._lock:
            return [
                copy.copy(e)
                for e in self._events
                if e.run_id == run_id and e.name == name and e.consumed_seq is None
            ]

    # -- retention ----------------------------------------------------------------------------
    def prunable_runs(
        self, finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        with self._lock:
            return [r.id for r in self._prunable(finished_before, finished_statuses(statuses))]

    def delete_runs(
        self, run_ids: Sequence[str], finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        wanted = finished_statuses(statuses)
        asked = set(run_ids)
        with self._lock:
            gone = [r.id for r in self._prunable(finished_before, wanted) if r.id in asked]
            for run_id in gone:
                del self._runs[run_id], self._ops[run_id], self._history[run_id]
            self._queues.forget(gone)
            doomed = set(gone)
            self._events = [e for e in self._events if e.run_id not in doomed]
            return gone

    def _prunable(self, finished_before: datetime, wanted: frozenset[RunStatus]) -> list[RunRecord]:
        """Runs prune may delete, oldest finish first (the caller holds the lock)."""
        live = {r.id for r in self._runs.values() if not r.status.terminal}
        has_live_child = {
            r.parent_id for r in self._runs.values() if r.parent_id and not r.status.terminal
        }
        runs = [
            r
            for r in self._runs.values()
            if r.status in wanted
            and r.finished_at is not None
            and r.finished_at < finished_before
            and r.parent_id not in live
            and r.id not in has_live_child
        ]
        return sorted(runs, key=lambda r: (r.finished_at, r.id))

    def queue_entries(self, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
        with self._lock:
            entries = self._queues.entries
            return {run_id: entries[run_id] for run_id in run_ids if run_id in entries}

    # -- leases -------------------------------------------------------------------------------
    def claim(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        *,
        limit: int = 1,
        run_id: str | None = None,
        workflows: Sequence[str] | None = None,
        queues: Sequence[Queue] = (),
        only_queues: Sequence[str] | None = None,
    ) -> list[RunRecord]:
        with self._lock:
            if queues:  # queues: dequeue within their limits first, under the same lock
                self._queues.dequeue(queues, self._runs, now, self._paused_workflows)
            candidates = (
                [self._runs[run_id]]
                if run_id in self._runs
                else ([] if run_id is not None else list(self._runs.values()))
            )
            runnable = [
                r
                for r in candidates
                if _runnable(r, now) and (workflows is None or r.workflow in workflows)
            ]
            if only_queues is not None:
                on_them = self._queues.queued_ids(only_queues)
                runnable = [r for r in runnable if r.id in on_them]
            # Pause (wfkit.engine.pausing): paused runs and runs of paused workflows stay put.
            runnable = [
                r for r in runnable if not r.paused and r.workflow not in self._paused_workflows
            ]
            runnable.sort(key=lambda r: (r.wake_at or r.created_at, r.created_at, r.id))
            claimed = []
            for run in runnable[:limit]:
                claimed.append(copy.copy(run))
                self._runs[run.id] = replace(run, lease_owner=owner, lease_expires_at=lease_until)
            return claimed

    def heartbeat(
        self, owner: str, run_ids: Sequence[str], lease_until: datetime, now: datetime
    ) -> set[str]:
        with self._lock:
            held = set()
            for run_id in run_ids:
                run = self._runs.get(run_id)
                if (
                    run
                    and run.lease_owner == owner
                    and run.lease_expires_at
                    and run.lease_expires_at >= now
                ):
                    self._runs[run_id] = replace(run, lease_expires_at=lease_until)
                    held.add(run_id)
            return held

    def release(self, owner: str, run_id: str) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run and run.lease_owner == owner:
                self._runs[run_id] = replace(run, lease_owner=None, lease_expires_at=None)

    def next_wake(self) -> datetime | None:
        with self._lock:
            wakes = [
                r.wake_at
                for r in self._runs.values()
                if (r.status in PARKED or r.status in ACTIVE)
                and r.wake_at is not None
                and not r.paused
                and r.workflow not in self._paused_workflows
            ]
            return min(wakes) if wakes else None

    def history(self, run_id: str) -> list[HistoryEntry]:
        with self._lock:
            return [
                HistoryEntry(e.run_id, e.at, e.type, e.seq, e.name, _copy_json(e.data), e.index)
                for e in self._history.get(run_id, [])
            ]

    def patch_marks(self) -> list[PatchMark]:
        with self._lock:
            return sort_marks(
                PatchMark(run.workflow, op.name, run.id, run.status, run.created_at, op.started_at)
                for run in self._runs.values()
                for op in self._ops.get(run.id, {}).values()
                if op.kind == OpKind.PATCH
            )

    def schedule_states(self) -> list[ScheduleState]:
        with self._lock:
            return [replace(self._schedules[name]) for name in sorted(self._schedules)]

    def save_schedule(self, state: ScheduleState) -> bool:
        with self._lock:
            stored = self._schedules.get(state.name)
            if (stored.revision if stored is not None else 0) != state.revision:
                return False
            self._schedules[state.name] = replace(state, revision=state.revision + 1)
            return True

    def set_schedule_paused(self, name: str, workflow: str, paused: bool, now: datetime) -> None:
        with self._lock:
            stored = self._schedules.get(name) or ScheduleState(name, workflow)
            self._schedules[name] = replace(
                stored, paused=paused, revision=stored.revision + 1, updated_at=now
            )

    def paused_workflows(self) -> dict[str, datetime]:
        with self._lock:
            return dict(sorted(self._paused_workflows.items()))

    def set_workflow_paused(self, workflow: str, paused: bool, now: datetime) -> bool:
        with self._lock:
            if paused == (workflow in self._paused_workflows):
                return False
            if paused:
                self._paused_workflows[workflow] = now
            else:
                del self._paused_workflows[workflow]
            return True

    def close(self) -> None:
        pass


_RUN_FIELDS = frozenset(f.name for f in fields(RunRecord))


def _clone(record: Any) -> Any:
    """A shallow copy of a record dataclass (copy.copy's reduce protocol is 5x slower)."""
    new = object.__new__(type(record))
    new.__dict__.update(record.__dict__)
    return new


def _copy_json(value: Any) -> Any:
    """Deep copy of JSON-shaped data (dicts, lists, scalars): far cheaper than deepcopy."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is dict:
        return {k: v if type(v) in _ATOMIC else _copy_json(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMIC else _copy_json(v) for v in value]
    return copy.deepcopy(value)


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _runnable(run: RunRecord, now: datetime) -> bool:
    if (
        run.lease_owner is not None
        and run.lease_expires_at is not None
        and run.lease_expires_at >= now
    ):
        return False
    if run.status in ACTIVE:  # an active run parked for a retry delay waits for wake_at
        return run.wake_at is None or run.wake_at <= now
    return run.status in PARKED and run.wake_at is not None and run.wake_at <= now
