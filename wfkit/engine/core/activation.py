"""One activation: run a workflow body from the top, replaying what is recorded.

A durable run advances in activations. Each activation calls the workflow function again;
every durable operation takes the next sequence number and, when that number is recorded,
returns the recorded result instead of running again. New operations run and are checkpointed
(one transaction each). An activation ends when the body returns (COMPLETED), raises (then the
completed steps are compensated), or must wait for a timer, an event or a child (the run parks
and the worker is released; a later activation replays up to the same point and goes on).

Operations are written as generators that *yield* what they need done (run an attempt, pause)
so one implementation serves sync and async workflows: the sync driver runs attempts inline or
in threads, the async driver awaits them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import random
import sys
import threading
from collections.abc import Awaitable, Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from wfkit.engine.core import history_entries as he
from wfkit.engine.core.failures import encode_error, rebuild_error
from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE, seq_label
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.spec import StepSpec
from wfkit.engine.core.store_faults import StoreFault, persist
from wfkit.engine.definitions import WorkflowContext, WorkflowDef, current_activation
from wfkit.engine.progress import (
    AttemptStarted,
    StepCompleted,
    StepGaveUp,
    StepRetrying,
    error_line,
)
from wfkit.engine.running_step import StepInfo, running_step
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


class Suspend(BaseException):
    """Unwinds the body when the run must wait; the activation parks the run."""

    def __init__(
        self,
        status: RunStatus,
        wake_at: datetime | None,
        reason: str,
        ops: Sequence[OperationRecord] = (),
        history: Sequence[HistoryEntry] = (),
        wake_on_events: Sequence[str] = (),
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.wake_at = wake_at
        self.reason = reason
        self.ops = ops
        self.history = history
        self.wake_on_events = wake_on_events


class Cancelled(BaseException):
    """Unwinds the body when a cancel was requested."""


class Held(BaseException):
    """Unwinds the body before a step starts while the run or its workflow is paused: the run
    keeps its status and lets go of its lease (``wfkit resume`` makes it claimable again)."""

    def __init__(self, seq: int, name: str, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.name = name
        self.reason = reason  # "run paused" or "workflow paused"


class Frontier(BaseException):
    """Replay-only activations stop at the first operation that is not recorded."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


@dataclass
class Attempt:
    spec: StepSpec
    kind: OpKind
    seq: int
    number: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class Pause:
    seconds: float


@dataclass
class Checkpointing:
    """A flow's request to write a step's checkpoint: the driver writes it (blocking, or
    awaited in a worker's event loop, where many runs' checkpoints share one commit) and sends
    nothing back; a refused write is thrown into the flow."""

    ops: list[OperationRecord]
    history: list[HistoryEntry]
    at: datetime | None = None
    extra: dict[str, Any] | None = None  # more Checkpoint fields (an event consumed)


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


Flow = Generator[Any, Any, Any]


class Activation:
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

    # -- attempts: how a step function actually runs -----------------------------------------
    def step_info(self, req: Attempt) -> StepInfo:
        """The attempt as :func:`wfkit.step_info` shows it to the step's code; under a lease,
        its ``lease_lost()`` asks the worker's heartbeat."""
        info = StepInfo(
            run_id=self.run.id,
            workflow=self.wf.name,
            seq=req.seq,
            name=req.spec.name,
            kind=req.kind.value,
            attempt=req.number,
            attempts=req.spec.retry.attempts,
        )
        leases = self.rt.leases
        if leases is not None and self.lease_owner is not None:
            object.__setattr__(info, "_lease_check", functools.partial(leases.lost, self.run.id))
        return info

    def run_attempt(self, req: Attempt) -> Any:
        """Run one attempt synchronously (in the workflow's thread or a pool thread)."""
        token = running_step.set(functools.partial(self.step_info, req))  # wfkit.step_info()
        try:
            if self.rt.interceptor is not None:
                return self.rt.interceptor.invoke(
                    req.kind,
                    req.seq,
                    req.number,
                    req.spec,
                    req.args,
                    req.kwargs,
                    functools.partial(_call_step, req),
                )
            return _call_step(req)
        finally:
            running_step.reset(token)

    async def run_attempt_async(self, req: Attempt) -> Any:
        if self.rt.interceptor is not None or not req.spec.is_async:
            # Sync functions (and the harness's interceptor) run in a thread, so the event
            # loop keeps going; a sync step cannot be killed, so a timeout abandons it.
            coro = asyncio.to_thread(self.run_attempt, replace(req, spec=req.spec))
            if self.rt.interceptor is None and req.spec.timeout is not None:
                return await _with_timeout(coro, req.spec.timeout, req.spec.name)
            return await coro
        token = current_activation.set(None)
        attempt = running_step.set(functools.partial(self.step_info, req))
        try:
            return await _with_timeout(
                req.spec.fn(*req.args, **req.kwargs), req.spec.timeout, req.spec.name
            )
        finally:
            running_step.reset(attempt)
            current_activation.reset(token)

    # -- drivers ----------------------------------------------------------------------------
    def drive(self, flow: Flow) -> Any:
        send: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                request = flow.send(send) if thrown is None else flow.throw(thrown)
            except StopIteration as done:
                return done.value
            send = thrown = None
            if isinstance(request, Attempt):
                try:
                    send = (self.run_attempt(request), None)
                except Exception as exc:
                    send = (None, exc)
            elif isinstance(request, Checkpointing):
                try:
                    self.commit(
                        request.ops, request.history, at=request.at, **(request.extra or {})
                    )
                except BaseException as exc:
                    thrown = exc
            elif isinstance(request, Pause):
                self.rt.clock.sleep(request.seconds)
            else:  # pragma: no cover - a programming error in wfkit
                raise TypeError(f"unknown request {request!r}")

    async def drive_async(self, flow: Flow) -> Any:
        send: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                request = flow.send(send) if thrown is None else flow.throw(thrown)
            except StopIteration as done:
                return done.value
            send = thrown = None
            if isinstance(request, Attempt):
                try:
                    send = (await self.run_attempt_async(request), None)
                except Exception as exc:
                    send = (None, exc)
            elif isinstance(request, Checkpointing):
                try:
                    await self.commit_async(
                        request.ops, request.history, at=request.at, **(request.extra or {})
                    )
                except BaseException as exc:
                    thrown = exc
            elif isinstance(request, Pause):
                await asyncio.to_thread(self.rt.clock.sleep, request.seconds)
            else:  # pragma: no cover
                raise TypeError(f"unknown request {request!r}")

    def drive_parallel(self, flows: list[Flow]) -> list[Any]:
        """Run flows concurrently in threads; results and errors come back in call order."""
        if len(flows) <= 1:
            return [self.drive(f) for f in flows]
        outcomes: list[tuple[Any, BaseException | None]] = [(None, None)] * len(flows)

        def one(i: int) -> None:
            try:
                outcomes[i] = (self.drive(flows[i]), None)
            except BaseException as exc:  # Suspend and crashes too: re-raised below in order
                outcomes[i] = (None, exc)

        with ThreadPoolExecutor(
            max_workers=min(len(flows), 16), thread_name_prefix="wfkit-parallel"
        ) as pool:
            list(pool.map(one, range(len(flows))))
        return settle(outcomes)

    async def drive_parallel_async(self, flows: list[Flow]) -> list[Any]:
        results = await asyncio.gather(
            *(self.drive_async(f) for f in flows), return_exceptions=True
        )
        return settle([(None, r) if isinstance(r, BaseException) else (r, None) for r in results])


def settle(outcomes: list[tuple[Any, BaseException | None]]) -> list[Any]:
    """The first real error wins (call order), then crashes, then the earliest suspension."""
    errors = [e for _, e in outcomes if e is not None]
    for exc in errors:
        if not isinstance(exc, (Suspend, Exception)):
            raise exc  # a crash or interrupt: nothing else matters
    for exc in errors:
        if isinstance(exc, Exception) or isinstance(exc, (Cancelled, Frontier)):
            raise exc
    suspends = [e for e in errors if isinstance(e, Suspend)]
    if suspends:
        raise min(suspends, key=lambda s: (s.wake_at is None, s.wake_at or datetime.max))
    return [value for value, _ in outcomes]


def _call_step(req: Attempt) -> Any:
    """Call the step function once, outside the workflow body (no activation is current)."""
    spec = req.spec
    token = current_activation.set(None)
    try:
        if spec.is_async:
            return asyncio.run(
                _with_timeout(spec.fn(*req.args, **req.kwargs), spec.timeout, spec.name)
            )
        if spec.timeout is None:
            return spec.fn(*req.args, **req.kwargs)
        return _call_in_thread(spec.fn, req.args, req.kwargs, spec.timeout, spec.name)
    finally:
        current_activation.reset(token)


async def _with_timeout(awaitable: Any, timeout: float | None, name: str) -> Any:
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise StepTimeout(name, timeout) from None


def _call_in_thread(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float, name: str
) -> Any:
    """Run a sync step with a deadline. A thread cannot be killed: a late result is dropped."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    # The step's context (wfkit.step_info(), no current workflow) goes with it to the thread.
    thread = threading.Thread(
        target=contextvars.copy_context().run,
        args=(target,),
        name=f"wfkit-step-{name}",
        daemon=True,
    )
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StepTimeout(name, timeout)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def caller_source() -> str | None:
    """``file:line`` of the workflow code that made the current durable call."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_wfkit_file(filename):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


@functools.lru_cache(maxsize=1024)
def _is_wfkit_file(filename: str) -> bool:
    return (
        _WFKIT_DIR in filename
        or filename.startswith("<frozen")
        or "/asyncio/" in filename
        or "concurrent/futures" in filename
        or filename.endswith("threading.py")
    )


_WFKIT_DIR = __file__.rsplit("/engine/core/", 1)[0] + "/"
