"""One activation: run a workflow body from the top, replaying what is recorded.

A durable run advances in activations. Each activation calls the workflow function again;
every durable operation takes the next sequence number and, when that number is recorded,
returns the recorded result instead of running again. New operations run and are checkpointed
(one transaction each). An activation ends when the body returns (COMPLETED), raises (then the
completed steps are compensated), or must wait for a timer, an event or a child (the run parks
and the worker is released; a later activation replays up to the same point and goes on).

Operations are written as generators that *yield* what they need done (run an attempt, pause)
so one implementation serves sync and async workflows: the sync driver runs attempts inline or
in threads, the async driver awaits them. Around this module: what flows yield
(:mod:`~wfkit.engine.core.flow_requests`), the drivers that carry it out, a base class of
:class:`Activation` (:mod:`~wfkit.engine.core.drivers`), a step function's call
(:mod:`~wfkit.engine.core.step_calls`), the exceptions that unwind a body
(:mod:`~wfkit.engine.core.unwinding`) and where a durable call was made
(:mod:`~wfkit.engine.core.call_sites`). Their names are importable from here too, as before.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from wfkit.engine.core import history_entries as he
from wfkit.engine.core.call_sites import caller_source
from wfkit.engine.core.drivers import Drivers
from wfkit.engine.core.failures import encode_error, rebuild_error
from wfkit.engine.core.flow_requests import Attempt, Checkpointing, Flow, Pause
from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE, seq_label
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.spec import StepSpec
from wfkit.engine.core.store_faults import StoreFault, persist
from wfkit.engine.core.unwinding import Cancelled, Frontier, Held, Suspend
from wfkit.engine.definitions import WorkflowContext, WorkflowDef
from wfkit.engine.progress import (
    AttemptStarted,
    StepCompleted,
    StepGaveUp,
    StepRetrying,
    error_line,
)
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import (
    CancelRequested,
    Checkpoint,
    HistoryEntry,
    LeaseLost,
    OperationRecord,
    RunRecord,
)
from wfkit.errors import (
    NonDeterminismError,
    RecordedValueError,
    SerializationError,
    StepInterrupted,
    StepTimeout,
    WfkitError,
)


@dataclass
class Registered:
    """A completed step with a compensation, remembered while the body (re)plays."""

    seq: int
    name: str
    fn: Callable[..., Any]
    is_async: bool
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any
    finished_at: datetime | None


class Activation(Drivers):
    """One pass of a run's workflow body: its recorded operations, the numbering, the drivers.

    ``make_context`` builds the handle the body receives (:class:`wfkit.Context`): passed in
    by the runner, so this module does not import the authoring API that is built on it.
    """

    def __init__(
        self,
        rt: Runtime,
        run: RunRecord,
        wf: WorkflowDef[Any],
        *,
        lease_owner: str | None,
        make_context: Callable[[Activation], WorkflowContext],
        operations: Sequence[OperationRecord] | None = None,
        replay_only: bool = False,
    ) -> None:
        self.rt = rt
        self.run = run
        self.wf = wf
        self.lease_owner = lease_owner
        self.replay_only = replay_only
        # Set by wfkit.engine.history.replay: a history check, where a parked timer's or wait's
        # changed duration is a divergence (a live engine keeps the recorded wake time).
        self.history_replay = False
        ops = (
            persist(
                lambda _fault: rt.store.operations(run.id),
                rt.clock,
                rt.lease_seconds,
                "reading the run's operations",
                health=rt.health,
            )
            if operations is None
            else operations
        )
        self.ops: dict[int, OperationRecord] = {op.seq: op for op in ops}
        self.seq = 0
        self.anchor: datetime = run.created_at
        self.rng = random.Random(run.seed)
        self.registered: list[Registered] = []
        self.executed: list[int] = []  # seqs whose effect ran in this activation
        self.context = make_context(self)
        self.phase = (
            RunStatus.COMPENSATING if run.status == RunStatus.COMPENSATING else RunStatus.RUNNING
        )
        self._lock = threading.Lock()
        self.outcome: RunStatus | None = None  # set when the activation ends
        self._announced: RunStatus | None = None  # the status last written to the run row
        self._cancel_seen = run.cancel_requested
        # Set by the worker's event loop (wfkit.engine.task_lane): the store's awaitable
        # group commit, which step checkpoints then go through.
        self.write_async: Callable[..., Awaitable[bool]] | None = None
        self._recorded_max = max(
            (s for s, op in self.ops.items() if op.kind != OpKind.COMPENSATION), default=0
        )

    # -- queries used by Context -------------------------------------------------------------
    def in_workflow_body(self) -> bool:
        return True

    @property
    def is_replaying(self) -> bool:
        """True while the body re-runs operations that are already recorded."""
        return self.seq < self._recorded_max

    def now(self) -> datetime:
        return self.anchor

    @property
    def cancel_seen(self) -> bool:
        """Whether the last checkpoint found the run's stop flag up (a cancel or a pause)."""
        return self._cancel_seen

    # -- sequence numbers and the determinism check ------------------------------------------
    def take(
        self, kind: OpKind, name: str, *, frontier: bool = True
    ) -> tuple[int, OperationRecord | None]:
        """The next sequence number and its record. ``frontier=False`` lets a replay-only
        activation reserve an unrecorded number without stopping (a parallel group reserves
        all its numbers first, so that its later calls that did complete are replayed too)."""
        with self._lock:
            self.seq += 1
            seq = self.seq
        if seq >= COMPENSATION_SEQ_BASE:
            raise WfkitError(
                f"run {self.run.id!r} has recorded {COMPENSATION_SEQ_BASE - 1:,} "
                "operations, the most one run may have",
                hint="split the work into child workflows",
            )
        rec = self.ops.get(seq)
        if rec is not None and rec.kind == OpKind.COMPENSATION:
            # Only stores written before compensations had their own numbers hold one here:
            # it was numbered into the slot of a step that was in flight, so for the body the
            # slot is unrecorded.
            rec = None
        if rec is not None and (rec.kind != kind or rec.name != name):
            raise NonDeterminismError(
                position=seq,
                recorded=f"{rec.kind} {rec.name!r}" + (f" (at {rec.source})" if rec.source else ""),
                current=f"{kind} {name!r}",
                source=caller_source(),
                run_id=self.run.id,
                diff=self.divergence(seq, f"{kind} {name!r}"),
            )
        if rec is None and self.replay_only and frontier:
            raise Frontier(seq)
        return seq, rec

    def divergence(self, seq: int, current: str) -> str:
        """The recorded operations around ``seq`` beside what the code does now."""
        lines = []
        last = max(max(self.ops, default=0), seq)
        for n in range(max(1, seq - 3), min(seq + 3, last + 1)):
            op = self.ops.get(n)
            was = f"{op.kind} {op.name!r}" if op is not None else "-"
            now = current if n == seq else (was if n < seq else "")
            marker = ">" if n == seq else " "
            lines.append(f"  {marker} #{n:<3} recorded {was:<32} now {now}")
        return "\n".join(lines)

    def peek(self) -> OperationRecord | None:
        return self.ops.get(self.seq + 1)

    def advance(self, op: OperationRecord) -> None:
        """ctx.now() follows the recorded finish time of the latest operation."""
        moment = op.finished_at or op.started_at
        if moment is not None and moment > self.anchor:
            self.anchor = moment

    # -- checkpoints ---------------------------------------------------------------------------
    def commit(
        self,
        ops: Sequence[OperationRecord] = (),
        history: Sequence[HistoryEntry] = (),
        run: dict[str, Any] | None = None,
        at: datetime | None = None,
        **extra: Any,
    ) -> datetime:
        """Write one checkpoint; ``at`` is the commit time when the caller just read the clock
        (a step's finish time), so the hot path reads the clock once per step, not twice."""
        now, checkpoint = self._checkpoint(ops, history, run, at, extra)
        try:
            self._cancel_seen = self.rt.store.commit(
                self.run.id, checkpoint, lease_owner=self.lease_owner, now=now
            )
        except (LeaseLost, CancelRequested):
            raise
        except Exception as exc:
            self._cancel_seen = self._commit_through_fault(checkpoint, now, ops, exc)
        for op in ops:
            self.ops[op.seq] = op
        return now

    async def commit_async(
        self,
        ops: Sequence[OperationRecord] = (),
        history: Sequence[HistoryEntry] = (),
        run: dict[str, Any] | None = None,
        at: datetime | None = None,
        **extra: Any,
    ) -> datetime:
        """:meth:`commit` from a worker's event loop: the checkpoint joins the store's next
        group commit and this run waits for it without holding the loop, so the other runs'
        steps go on and share the commit. Without ``write_async`` (not in a worker's event
        loop) it is :meth:`commit`."""
        write = self.write_async
        if write is None:
            return self.commit(ops, history, run, at, **extra)
        now, checkpoint = self._checkpoint(ops, history, run, at, extra)
        try:
            self._cancel_seen = await write(
                self.run.id, checkpoint, lease_owner=self.lease_owner, now=now
            )
        except (LeaseLost, CancelRequested):
            raise
        except Exception as exc:  # retried with backoff, off the loop (rare: a store fault)
            self._cancel_seen = await asyncio.to_thread(
                self._commit_through_fault, checkpoint, now, ops, exc
            )
        for op in ops:
            self.ops[op.seq] = op
        return now

    def _checkpoint(
        self,
        ops: Sequence[OperationRecord],
        history: Sequence[HistoryEntry],
        run: dict[str, Any] | None,
        at: datetime | None,
        extra: dict[str, Any],
    ) -> tuple[datetime, Checkpoint]:
        now = self.rt.clock.now() if at is None else at
        changes: dict[str, Any] = {}
        if self._announced != self.phase:
            # The run row changes once per activation phase, not per step: a step checkpoint
            # then writes only the operation and its history line (one page less per commit).
            changes = {"updated_at": now, "status": self.phase}
            self._announced = self.phase
        if run:
            changes.update(run)
            changes.setdefault("updated_at", now)
        checkpoint = Checkpoint(run=changes, operations=ops, history=history, **extra)
        leases = self.rt.leases
        if leases is not None and self.lease_owner is not None and leases.given_up(self.run.id):
            # A step was told its lease was lost: nothing it returned or raised since counts.
            raise LeaseLost(self.run.id, self.lease_owner)
        return now, checkpoint

    def _commit_through_fault(
        self,
        checkpoint: Checkpoint,
        now: datetime,
        ops: Sequence[OperationRecord],
        failed: Exception,
    ) -> bool:
        """Retry a checkpoint the store failed to write; the write that succeeds also records
        the fault in the run's history, so `wfkit show` and `export` tell of it."""
        what = (
            f"checkpointing {ops[0].kind} {ops[0].name!r} ({seq_label(ops[0].seq)})"
            if ops
            else "checkpointing the run"
        )

        def write(fault: StoreFault | None) -> bool:
            history = checkpoint.history
            if fault is not None:
                at = self.rt.clock.now()
                history = [
                    *history,
                    he.run_entry(self.run.id, at, "store_fault", during=what, **fault.describe(at)),
                ]
            return self.rt.store.commit(
                self.run.id,
                replace(checkpoint, history=history),
                lease_owner=self.lease_owner,
                now=now,
            )

        return persist(
            write, self.rt.clock, self.rt.lease_seconds, what, failed=failed, health=self.rt.health
        )

    def read_store(self, call: Callable[[], Any], what: str) -> Any:
        """A store read the activation needs, retried through a fault like a checkpoint."""
        return persist(
            lambda _fault: call(), self.rt.clock, self.rt.lease_seconds, what, health=self.rt.health
        )

    def learn_cancel(self) -> None:
        """Take in a cancel requested while this activation ran: the request's ``compensate``
        (``wfkit cancel --no-compensate``) is read from the store, not assumed."""
        if self.run.cancel_requested:
            return
        stored = self.read_store(
            lambda: self.rt.store.get_run(self.run.id), "reading the cancel request"
        )
        self.run.cancel_requested = True
        if stored is not None:
            self.run.compensate_on_cancel = stored.compensate_on_cancel

    def check_pause(self, seq: int, name: str) -> None:
        """Stop before step ``seq`` starts if the run or its workflow is paused.

        The checkpoint's flag says "cancel or pause" (:meth:`Store.commit`); only when it is
        up is the run read to tell which, so an unpaused run pays nothing. A cancel found
        here is taken in as :meth:`check_cancel` would; a pause lifted again meanwhile lets
        the step start.
        """
        if not self._cancel_seen or self.replay_only:
            return
        stored = self.read_store(
            lambda: self.rt.store.get_run(self.run.id), "reading the pause flag"
        )
        if stored is None:
            return
        if stored.cancel_requested and not self.run.cancel_requested:
            self.run.cancel_requested = True
            self.run.compensate_on_cancel = stored.compensate_on_cancel
            if self.phase != RunStatus.COMPENSATING:
                raise Cancelled()
        if stored.paused:
            raise Held(seq, name, "run paused")
        paused = self.read_store(self.rt.store.paused_workflows, "reading the paused workflows")
        if self.run.workflow in paused:
            raise Held(seq, name, "workflow paused")
        if stored.cancel_requested:
            return  # the flag stays up for the cancel (compensations run on)
        self._cancel_seen = False  # resumed since that checkpoint: go on

    def check_cancel(self) -> None:
        """Stop at this operation boundary if a cancel was requested.

        Every checkpoint reads the run's stop flag (a cancel requested, or a pause) in the
        same statement that checks the lease, so this costs no extra read until the flag is
        up; before the activation's first checkpoint the run record it was claimed with
        tells. A flag raised by a pause alone is left to :meth:`check_pause`.
        """
        if self.replay_only or self.phase == RunStatus.COMPENSATING or not self._cancel_seen:
            return
        if not self.run.cancel_requested:
            stored = self.read_store(
                lambda: self.rt.store.get_run(self.run.id), "reading the cancel request"
            )
            if stored is not None and not stored.cancel_requested:
                return  # the run (or its workflow) is paused: check_pause decides
            self.run.cancel_requested = True
            if stored is not None:
                self.run.compensate_on_cancel = stored.compensate_on_cancel
        raise Cancelled()

    def wait_until(self, wake: datetime, status: RunStatus, reason: str) -> Flow:
        """Wait inline when short, else park the run until ``wake``."""
        delay = (wake - self.rt.clock.now()).total_seconds()
        if delay <= 0:
            return
        if delay <= self.rt.inline_wait:
            yield Pause(delay)
            return
        raise Suspend(status, wake, reason)

    # -- steps (and compensations) -----------------------------------------------------------
    def step_flow(
        self,
        spec: StepSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        kind: OpKind = OpKind.STEP,
        seq: int | None = None,
        rec: OperationRecord | None = None,
        compensates: int | None = None,
        source: str | None = None,
    ) -> Flow:
        if seq is None:
            seq, rec = self.take(kind, spec.name)
        if rec is not None and rec.status in (OpStatus.COMPLETED, OpStatus.SKIPPED):
            self.advance(rec)
            try:
                value = self.decode(rec.result, spec.returns, f"result of step {spec.name!r}")
            except SerializationError as exc:  # the record, not the step, is wrong
                raise RecordedValueError(spec.name, seq, str(exc)) from None
            if kind == OpKind.STEP and rec.status == OpStatus.COMPLETED:
                self.remember(seq, spec, args, kwargs, value, rec.finished_at)
            return value
        if rec is not None and rec.status == OpStatus.FAILED:
            self.advance(rec)
            if spec.optional:
                return None
            raise rebuild_error(rec.error, spec.name)
        if self.replay_only:
            raise Frontier(seq)  # recorded as in flight: replay goes no further
        if rec is not None:
            source = rec.source
        elif source is None and kind != OpKind.COMPENSATION:
            # (a compensation is given the undone step's source; it has no call of its own)
            source = caller_source()
        attempt = rec.attempt if rec is not None else 0
        if rec is not None and rec.status == OpStatus.STARTED and spec.at_most_once:
            return (
                yield from self._fail_step(
                    seq,
                    spec,
                    kind,
                    attempt,
                    rec.started_at,
                    StepInterrupted(spec.name, attempt),
                    source,
                    compensates,
                )
            )
        self.check_pause(seq, spec.name)
        self.starting(kind, seq, spec.name)
        if rec is not None and rec.status == OpStatus.RETRYING and rec.wake_at is not None:
            yield from self.wait_until(
                rec.wake_at, self._park_status(), f"retry of step {spec.name!r}"
            )
        while True:
            attempt += 1
            self.check_cancel()
            self.check_pause(seq, spec.name)
            started = self.rt.clock.now()
            if self.rt.observer is not None:
                self.rt.observer.notify(
                    AttemptStarted(
                        self.run.id, seq, kind, spec.name, attempt, spec.retry.attempts, started
                    )
                )
            if spec.at_most_once:
                op = OperationRecord(
                    self.run.id,
                    seq,
                    kind,
                    spec.name,
                    OpStatus.STARTED,
                    attempt=attempt,
                    started_at=started,
                    source=source,
                    compensates=compensates,
                )
                yield Checkpointing([op], [he.op_entry("step_started", op)])
            outcome, error = yield Attempt(spec, kind, seq, attempt, args, kwargs)
            text = value = None
            if error is None:
                try:
                    text = self.rt.codec.encode(outcome, where=f"result of step {spec.name!r}")
                    # The workflow sees what a replay will decode, and that must be what the
                    # step returned: checked before the checkpoint, so a misfit fails the step.
                    value = self.rt.codec.settle(
                        outcome, text, spec.returns, where=f"result of step {spec.name!r}"
                    )
                except SerializationError as exc:
                    error = exc
            finished = self.rt.clock.now()
            if error is not None:
                retryable = not isinstance(error, (SerializationError, WfkitError)) or isinstance(
                    error, StepTimeout
                )
                if retryable and spec.retry.should_retry(error, attempt):
                    wake = finished + timedelta(seconds=spec.retry.delay(attempt, self.rt.rng))
                    op = OperationRecord(
                        self.run.id,
                        seq,
                        kind,
                        spec.name,
                        OpStatus.RETRYING,
                        attempt=attempt,
                        started_at=started,
                        error=encode_error(error),
                        wake_at=wake,
                        source=source,
                        compensates=compensates,
                    )
                    yield Checkpointing([op], [he.op_entry("step_retrying", op)])
                    if self.rt.observer is not None:
                        self.rt.observer.notify(
                            StepRetrying(
                                self.run.id,
                                seq,
                                kind,
                                spec.name,
                                attempt,
                                spec.retry.attempts,
                                error_line(error),
                                wake,
                            )
                        )
                    yield from self.wait_until(
                        wake, self._park_status(), f"retry of step {spec.name!r}"
                    )
                    continue
                return (
                    yield from self._fail_step(
                        seq, spec, kind, attempt, started, error, source, compensates
                    )
                )
            op = OperationRecord(
                self.run.id,
                seq,
                kind,
                spec.name,
                OpStatus.COMPLETED,
                attempt=attempt,
                started_at=started,
                finished_at=finished,
                result=text,
                source=source,
                compensates=compensates,
            )
            yield Checkpointing([op], [he.op_entry("step_completed", op)], finished)
            if self.rt.observer is not None:
                self.rt.observer.notify(
                    StepCompleted(
                        self.run.id,
                        seq,
                        kind,
                        spec.name,
                        attempt,
                        (finished - started).total_seconds(),
                    )
                )
            self.checkpointed(kind, seq, spec.name)
            self.advance(op)
            if kind == OpKind.STEP:
                self.remember(seq, spec, args, kwargs, value, finished)
            return value

    def _fail_step(
        self,
        seq: int,
        spec: StepSpec,
        kind: OpKind,
        attempt: int,
        started: datetime | None,
        error: BaseException,
        source: str | None,
        compensates: int | None,
    ) -> Flow:
        finished = self.rt.clock.now()
        op = OperationRecord(
            self.run.id,
            seq,
            kind,
            spec.name,
            OpStatus.FAILED,
            attempt=attempt,
            started_at=started,
            finished_at=finished,
            error=encode_error(error),
            source=source,
            compensates=compensates,
        )
        yield Checkpointing([op], [he.op_entry("step_failed", op)], finished)
        if self.rt.observer is not None:
            self.rt.observer.notify(
                StepGaveUp(self.run.id, seq, kind, spec.name, attempt, error_line(error))
            )
        self.checkpointed(kind, seq, spec.name)
        self.advance(op)
        if spec.optional and kind == OpKind.STEP:
            return None
        raise rebuild_error(op.error, spec.name)

    def _park_status(self) -> RunStatus:
        return (
            RunStatus.COMPENSATING if self.phase == RunStatus.COMPENSATING else RunStatus.SLEEPING
        )

    def remember(
        self,
        seq: int,
        spec: StepSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        value: Any,
        finished_at: datetime | None,
    ) -> None:
        if spec.compensate is None:
            return
        import inspect

        with self._lock:
            self.registered.append(
                Registered(
                    seq,
                    spec.name,
                    spec.compensate,
                    inspect.iscoroutinefunction(spec.compensate),
                    args,
                    kwargs,
                    value,
                    finished_at,
                )
            )

    def starting(self, kind: OpKind, seq: int, name: str) -> None:
        if self.rt.interceptor is not None:
            self.rt.interceptor.starting(kind, seq, name)

    def checkpointed(self, kind: OpKind, seq: int, name: str) -> None:
        if self.rt.interceptor is not None:
            self.rt.interceptor.checkpointed(kind, seq, name)

    def decode(self, text: str | None, annotation: Any, where: str) -> Any:
        if text is None:
            return None
        return self.rt.codec.decode(text, annotation, where=where)
