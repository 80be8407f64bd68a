"""The store protocol: the engine core's only view of persistence.

The core knows nothing about SQL. It reads runs, operations, events and history through this
narrow protocol and writes every state change through :meth:`Store.commit`, one transaction per
checkpoint, fenced by the worker's lease. Timestamps always come from the caller (the engine's
injected clock), never from the database, so tests control all of time, with one exception:
a store shared by many machines measures *leases* with one clock of its own, or workers whose
clocks disagree would take live runs from each other. PostgreSQL uses the server's clock
(unless opened with ``lease_clock="caller"``); the caller's ``now`` and ``lease_until`` then
give only the lease's length. SQLite (one machine) and the memory store use the caller's.

Records hold JSON *text* for user values (inputs, results, payloads): the codec owns encoding,
the store only persists strings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import OpKind, OpStatus, RunStatus


@dataclass
class RunRecord:
    id: str
    workflow: str
    version: int
    status: RunStatus
    input: str  # JSON text: {"args": [...], "kwargs": {...}}
    seed: int  # source of ctx.uuid4()/ctx.random() for this run
    created_at: datetime
    updated_at: datetime
    result: str | None = None  # JSON text of the return value
    error: str | None = None  # JSON text: {"type", "message", ...}
    parent_id: str | None = None  # set on child workflows
    parent_seq: int | None = None  # the parent's operation that waits on this child
    wake_at: datetime | None = None  # when a SLEEPING/WAITING run becomes runnable again
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    recoveries: int = 0  # times a crashed worker's lease on this run was taken over
    cancel_requested: bool = False
    compensate_on_cancel: bool = True
    finished_at: datetime | None = None
    # `wfkit pause`: no step of the run starts until `wfkit resume` clears it. A flag beside
    # the status, not a status: every status transition stays as it is, and resume has
    # nothing to restore (see wfkit.engine.pausing).
    paused: bool = False


@dataclass
class OperationRecord:
    run_id: str
    seq: int
    kind: OpKind
    name: str
    status: OpStatus
    attempt: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: str | None = None  # JSON text
    error: str | None = None  # JSON text: {"type", "module", "message", "args"}
    wake_at: datetime | None = None  # next attempt (RETRYING), timer end, wait deadline
    source: str | None = None  # "file.py:42" of the workflow line that made the call
    compensates: int | None = None  # for COMPENSATION ops: the seq of the step undone


@dataclass
class EventRecord:
    id: int
    run_id: str
    name: str
    payload: str  # JSON text
    sent_at: datetime
    consumed_seq: int | None = None  # the wait operation that received it


@dataclass
class HistoryEntry:
    """One line of a run's append-only history log (the format of `wfkit export`)."""

    run_id: str
    at: datetime
    type: str  # e.g. "run_started", "step_completed", "compensation_failed"
    seq: int | None = None
    name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    index: int = 0  # position in the run's log; assigned by the store
    # An operation entry on its way to a store may carry the record instead of its snapshot
    # (``data`` then stays empty): the hot path builds no JSON-ready dict, and the SQLite
    # store writes the record's columns. Stores read such entries through entry_data().
    op: OperationRecord | None = field(default=None, repr=False, compare=False)


def entry_data(entry: HistoryEntry) -> dict[str, Any]:
    """The entry's data, with an operation entry's snapshot built from its record."""
    return op_snapshot(entry.op) if entry.op is not None else entry.data


def op_snapshot(op: OperationRecord) -> dict[str, Any]:
    """The operation as JSON data; fields that are unset are left out.

    Written out field by field (no getattr loop, the enums' ``_value_`` slot rather than the
    ``value`` property): stores other than SQLite call it once per checkpoint.
    """
    data: dict[str, Any] = {
        "kind": op.kind._value_,
        "status": op.status._value_,
        "attempt": op.attempt,
    }
    if op.started_at is not None:
        data["started_at"] = op.started_at.isoformat()
    if op.finished_at is not None:
        data["finished_at"] = op.finished_at.isoformat()
    if op.result is not None:
        data["result"] = op.result
    if op.error is not None:
        data["error"] = op.error
    if op.source is not None:
        data["source"] = op.source
    if op.compensates is not None:
        data["compensates"] = op.compensates
    if op.wake_at is not None:
        data["wake_at"] = op.wake_at.isoformat()
    return data


@dataclass(frozen=True)
class PatchMark:
    """A version-gate marker: run ``run_id`` passed ``ctx.patched(patch_id)`` and took the new
    branch (a run that took the old branch records nothing). ``wfkit patches`` counts these
    per gate to tell when a gate's old branch, and then the gate itself, may go."""

    workflow: str
    patch_id: str
    run_id: str
    status: RunStatus  # the run's, when read
    created_at: datetime  # when the run started
    marked_at: datetime | None  # when the marker was recorded


def sort_marks(marks: Iterable[PatchMark]) -> list[PatchMark]:
    """The order ``Store.patch_marks`` promises, the same on every backend (sorted here, not
    by the database, whose collation of text may differ)."""
    return sorted(
        marks,
        key=lambda m: (m.workflow, m.patch_id, m.created_at, m.run_id, m.marked_at or m.created_at),
    )


@dataclass
class Checkpoint:
    """Everything one transaction writes for a run.

    ``run`` holds RunRecord field names to update. ``operations`` are upserted by (run_id, seq).
    ``consume_event`` marks an inbox event as received by an operation. ``release_lease`` clears
    the lease in the same transaction (the run leaves this worker's hands).
    """

    run: dict[str, Any] = field(default_factory=dict)
    operations: Sequence[OperationRecord] = ()
    history: Sequence[HistoryEntry] = ()
    consume_event: tuple[int, int] | None = None  # (event id, seq)
    release_lease: bool = False
    discard_operations: Sequence[int] = ()  # seqs to delete (skip-step rewinds)
    # A run that parks (WAITING) for these event names must not miss one sent while it was
    # still running: if the inbox holds an unconsumed event with one of these names when the
    # commit applies, the store sets wake_at to the commit's ``now`` instead (no lost wakeup).
    wake_on_events: Sequence[str] = ()
    # Events for other runs' inboxes, (run id, name, payload JSON), added in this transaction as
    # add_event would add them at ``now``: a child's last commit and its parent's wake-up note
    # are one write, so no crash between them can leave the parent waiting.
    send_events: Sequence[tuple[str, str, str]] = ()
    # Write nothing (and raise CancelRequested) if the run's cancel has been requested: the
    # run's last commit and a cancel request, or two cancel requests, cannot both win.
    unless_cancelled: bool = False


@dataclass
class ScheduleState:
    """What a store keeps of one schedule (:mod:`wfkit.engine.schedules`): how far its ticks
    have been handled, a tick held back by ``overlap="buffer_one"``, the run it started last
    and whether a person paused it. ``revision`` counts changes: a write names the revision
    it read and loses to any write in between (see ``save_schedule``)."""

    name: str
    workflow: str
    revision: int = 0  # 0: never saved
    handled_until: datetime | None = None  # every tick up to here is started, skipped or buffered
    buffered_tick: datetime | None = None
    last_run_id: str | None = None
    paused: bool = False
    updated_at: datetime | None = None


class CancelRequested(Exception):
    """A ``Checkpoint(unless_cancelled=True)`` found the run's cancel requested: nothing was
    written, so the run is not completed over a cancel that arrived first."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"cancellation of run {run_id!r} has been requested")
        self.run_id = run_id


class LeaseLost(Exception):
    """The worker no longer holds the run's lease; its activation must stop without writing."""

    def __init__(self, run_id: str, owner: str | None) -> None:
        super().__init__(f"lease on run {run_id!r} is no longer held by {owner!r}")
        self.run_id = run_id
        self.owner = owner


class Store(Protocol):
    """What the engine needs from persistence. Implementations pass tests/store/contract."""

    url: str

    def create_run(
        self,
        run: RunRecord,
        history: Sequence[HistoryEntry],
        *,
        queue: QueueEntry | None = None,
    ) -> tuple[RunRecord, bool]:
        """Insert ``run`` unless a run with its id exists; return (stored run, created?).

        With ``queue`` (a QUEUED run) its queue entry is added in the same transaction; a
        ``dedup_key`` that a run of the queue which has not finished holds raises
        :class:`~wfkit.engine.queues.DuplicateQueued`, writing nothing."""

    def get_run(self, run_id: str) -> RunRecord | None: ...

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
        """Runs newest first (created_at, then id descending); ``queue``: only runs started
        on that queue.

        ``before`` is a keyset cursor, the (created_at, id) of the last run of the previous
        page: only runs after it in this order are listed, so a page costs the same however
        deep it is and runs created meanwhile do not shift the pages.
        """

    def count_runs(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        """How many runs there are of each status (statuses with none left out)."""

    def steps_done(self, run_ids: Sequence[str]) -> dict[str, int]:
        """How many steps of each run completed or were skipped: a page of runs' progress in
        one read, rather than every run's operations. Every id asked for is in the result
        (0 for a run with none, or no such run)."""

    def operations(self, run_id: str) -> list[OperationRecord]:
        """The run's operations ordered by seq."""

    def commit(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Apply ``checkpoint`` atomically; return whether the run must stop at this boundary.

        With ``lease_owner`` the write is fenced: if the run's lease is not held by that owner
        (or expired before ``now``, on the store's lease clock: see the module docstring),
        nothing is written and :class:`LeaseLost` is raised.
        A lease with no expiry time never expires here. An unknown run raises ``KeyError``;
        a ``Checkpoint.run`` key that is not a RunRecord field raises ``TypeError``; both
        before anything is written. ``wake_on_events`` and ``send_events`` need ``now``.
        With ``unless_cancelled``, a run whose cancel was requested is left as it is and
        :class:`CancelRequested` is raised (after the existence check, before the fence's).
        History entries get consecutive indexes after the run's last one. The returned flag
        is true when the run's cancel is requested, the run is paused or its workflow is
        (``set_workflow_paused``); it is read in the same transaction, so the engine learns of
        a cancel or a pause at every checkpoint without an extra read (and reads the run to
        tell which, only then).
        """

    def add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        """Append an event to the run's inbox; a WAITING run becomes runnable (wake_at = at)."""

    def pending_events(self, run_id: str, name: str) -> list[EventRecord]:
        """Unconsumed events of that name, oldest first."""

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
        """Lease up to ``limit`` runnable runs (optionally only ``run_id``, and only runs whose
        workflow name is in ``workflows`` when given: a worker claims only what it can run).

        Queues: first, in the same transaction, QUEUED runs of ``queues`` are dequeued
        (made PENDING) as far as each queue's limits allow at ``now``, serialised per queue
        across every process sharing the store (see :mod:`wfkit.engine.queues`). With
        ``only_queues`` only runs on those queues are claimed.

        Claimed in order of wake_at (created_at when there is none), then created_at, then
        id. Runnable: status in ACTIVE with wake_at NULL or <= now (an active run may wait out a
        retry delay), or in PARKED with wake_at <= now; and no lease, or an expired one. Returned records show the state *before* the claim, so the caller can see
        a taken-over lease (``lease_owner`` set, status RUNNING or COMPENSATING). The lease
        lasts ``lease_until - now`` on the store's lease clock (the module docstring).
        Paused: a run that is paused, or whose workflow is, is never claimed.
        """

    def heartbeat(
        self, owner: str, run_ids: Sequence[str], lease_until: datetime, now: datetime
    ) -> set[str]:
        """Extend the leases ``owner`` still holds (live on the store's lease clock) by
        ``lease_until - now``; return the ids it still holds."""

    def release(self, owner: str, run_id: str) -> None:
        """Drop ``owner``'s lease on the run, if it holds it."""

    def queue_entries(self, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
        """The queue entries of those of ``run_ids`` that were started on a queue."""

    def next_wake(self) -> datetime | None:
        """The earliest wake_at among non-terminal runs that are not paused (None when no run
        has one): an idle worker sleeps until then, so a paused run must not wake it."""

    def history(self, run_id: str) -> list[HistoryEntry]: ...

    def patch_marks(self) -> list[PatchMark]:
        """Every version-gate marker recorded, one per operation (a gate in a loop marks each
        pass), ordered by workflow, patch id, the run's created_at, run id, then marked_at.
        Reads every marker of every run, finished ones too: the first one tells when a gate
        was deployed. An admin query, not on any hot path."""

    def prunable_runs(
        self, finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        """Ids of runs ``delete_runs`` may delete, oldest finish first: status in ``statuses``
        (terminal ones), finished before ``finished_before``, no live parent, no live child."""

    def delete_runs(
        self, run_ids: Sequence[str], finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        """Delete those of ``run_ids`` that are still prunable (checked again in the same
        transaction), with their operations, history and events; return the ids deleted."""

    def schedule_states(self) -> list[ScheduleState]:
        """Every schedule the store has a state for, by name."""

    def save_schedule(self, state: ScheduleState) -> bool:
        """Write ``state`` if the stored one is still at ``state.revision`` (0: none stored
        yet), as ``revision + 1``; False, writing nothing, when another writer came first."""

    def set_schedule_paused(self, name: str, workflow: str, paused: bool, now: datetime) -> None:
        """Pause or resume a schedule (creating its state if it has none), as a new revision:
        a scheduler that read the old one does not overwrite the change."""

    def paused_workflows(self) -> dict[str, datetime]:
        """The workflows paused with ``set_workflow_paused``, each with when it was paused."""

    def set_workflow_paused(self, workflow: str, paused: bool, now: datetime) -> bool:
        """Pause or resume every run of ``workflow`` (those not created yet too); False, writing
        nothing, when it already was so. Kept in the store, so it holds across workers and
        restarts: no run of a paused workflow is claimed, and its running ones stop before
        their next step (``commit``'s flag)."""

    def close(self) -> None: ...


class CommitsAsync(Protocol):
    """A store whose checkpoints can be awaited from an event loop without blocking it on
    other runs' writes (SQLite's group commit; the memory store, which never waits). A
    worker runs async workflows as tasks on one loop only with such a store
    (:mod:`wfkit.engine.task_lane`); with any other (PostgreSQL) each run keeps a thread."""

    async def commit_async(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """:meth:`Store.commit`, awaited: the same answer, errors and atomicity."""
        ...


def async_commit(store: Store) -> Callable[..., Awaitable[bool]] | None:
    """The store's ``commit_async`` when its *class* has one. A wrapper that hands unknown
    attributes to the store it wraps (as test stores and ``wfkit worker``'s observer do) does
    not thereby claim it: its own ``commit`` would be bypassed."""
    method = getattr(type(store), "commit_async", None)
    if method is None:
        return None
    bound: Callable[..., Awaitable[bool]] = method.__get__(store)
    return bound


def finished_statuses(statuses: Collection[RunStatus | str]) -> frozenset[RunStatus]:
    """``statuses`` as RunStatus members, all terminal: a live run is never pruned."""
    from wfkit.engine.status import TERMINAL

    members = frozenset(RunStatus(s) for s in statuses)
    live = sorted(s.value for s in members - TERMINAL)
    if live:
        raise ValueError(f"only finished runs can be deleted, not {', '.join(live)}")
    return members
