"""Durable operations that wait: timers, events, child workflows, and version markers.

Each is a generator flow run by an activation driver (see :mod:`wfkit.engine.core.drivers`).
A wait that cannot finish now raises :class:`Suspend`, carrying the operation record to write
with the park, so starting a timer and releasing the worker is one transaction.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from wfkit.engine.binding import return_annotation
from wfkit.engine.core import history_entries as he
from wfkit.engine.core.activation import Activation
from wfkit.engine.core.call_sites import caller_source
from wfkit.engine.core.failures import rebuild_error
from wfkit.engine.core.flow_requests import Checkpointing, Flow
from wfkit.engine.core.unwinding import Frontier, Suspend
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.ids import check_id
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import OperationRecord, RunRecord
from wfkit.errors import DefinitionError, NonDeterminismError, WfkitError

CHILD_EVENT = "wfkit.child:{seq}"  # inbox name that wakes a parent when its child finishes


class ChildWorkflowFailed(WfkitError):
    """A child workflow ended without a result."""

    def __init__(self, child_id: str, workflow: str, status: str, detail: str = "") -> None:
        super().__init__(
            f"child workflow {workflow!r} ({child_id}) ended {status}"
            + (f": {detail}" if detail else ""),
            hint=f"inspect it with `wfkit show {child_id}`",
        )
        self.child_id = child_id
        self.workflow = workflow
        self.status = status


def to_seconds(duration: timedelta | float | int, what: str) -> float:
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise DefinitionError(
            f"{what} must be a timedelta or a number of seconds, got {type(duration).__name__}"
        )
    return float(duration)


def check_parked_duration(
    act: Activation, seq: int, rec: OperationRecord | None, what: str, seconds: float | None
) -> None:
    """Replay (``wfkit replay``, the harness) of a run parked on a timer or a wait: the code
    must still ask for the recorded duration (None: no timeout), or the parked run wakes at a
    time the new code never asked for. A timer that already fired is history: its duration is
    not compared, nor are a step's arguments (docs/testing.md, "What replay compares")."""
    if (
        not act.history_replay
        or rec is None
        or rec.status != OpStatus.STARTED
        or rec.started_at is None
    ):
        return  # a live engine re-parks on the recorded time (it replays to compensate, too)
    recorded = (
        None if rec.wake_at is None else max(0.0, (rec.wake_at - rec.started_at).total_seconds())
    )
    current = None if seconds is None else max(0.0, seconds)
    if (recorded is None) != (current is None) or (
        recorded is not None and current is not None and abs(recorded - current) > 1e-6
    ):
        raise NonDeterminismError(
            position=seq,
            recorded=f"{what} {_duration(recorded)} (the run is parked on it)"
            + (f" (at {rec.source})" if rec.source else ""),
            current=f"{what} {_duration(current)}",
            source=caller_source(),
            run_id=act.run.id,
            diff=act.divergence(seq, f"{what} {_duration(current)}"),
        )


def _duration(seconds: float | None) -> str:
    return "with no timeout" if seconds is None else f"for {seconds:g}s"


def sleep_flow(act: Activation, duration: timedelta | float, name: str) -> Flow:
    seconds = to_seconds(duration, "ctx.sleep duration")
    seq, rec = act.take(OpKind.SLEEP, name)
    if rec is not None and rec.status == OpStatus.COMPLETED:
        act.advance(rec)
        return None
    if act.replay_only:
        check_parked_duration(act, seq, rec, f"sleep {name!r}", seconds)
        raise Frontier(seq)
    if rec is None:
        act.check_cancel()
        act.starting(OpKind.SLEEP, seq, name)
    now = act.rt.clock.now()
    if rec is None:
        rec = OperationRecord(
            act.run.id,
            seq,
            OpKind.SLEEP,
            name,
            OpStatus.STARTED,
            started_at=now,
            wake_at=now + timedelta(seconds=max(0, seconds)),
            source=caller_source(),
        )
        if seconds > 0:
            raise Suspend(
                RunStatus.SLEEPING,
                rec.wake_at,
                f"sleep until {rec.wake_at}",
                ops=[rec],
                history=[he.op_entry("timer_started", rec)],
            )
    assert rec.wake_at is not None
    if now < rec.wake_at:
        raise Suspend(RunStatus.SLEEPING, rec.wake_at, f"sleep until {rec.wake_at}")
    done = OperationRecord(
        act.run.id,
        seq,
        OpKind.SLEEP,
        name,
        OpStatus.COMPLETED,
        started_at=rec.started_at,
        finished_at=rec.wake_at,
        wake_at=rec.wake_at,
        source=rec.source,
    )
    yield Checkpointing([done], [he.op_entry("timer_fired", done)])
    act.checkpointed(OpKind.SLEEP, seq, name)
    act.advance(done)
    return None


def event_flow(
    act: Activation, name: str, timeout: timedelta | float | None, annotation: Any
) -> Flow:
    seconds = None if timeout is None else to_seconds(timeout, "wait_for_event timeout")
    seq, rec = act.take(OpKind.EVENT, name)
    where = f"payload of event {name!r}"
    if rec is not None and rec.status == OpStatus.COMPLETED:
        act.advance(rec)
        return act.decode(rec.result, annotation, where)
    if act.replay_only:
        check_parked_duration(act, seq, rec, f"wait for event {name!r}", seconds)
        raise Frontier(seq)
    if rec is None:
        # checked when first waited for, not on replay: a run recorded before the check replays
        check_id(name, "event name")
        act.check_cancel()
        act.starting(OpKind.EVENT, seq, name)
    now = act.rt.clock.now()
    if rec is None:
        rec = OperationRecord(
            act.run.id,
            seq,
            OpKind.EVENT,
            name,
            OpStatus.STARTED,
            started_at=now,
            source=caller_source(),
            wake_at=None if seconds is None else now + timedelta(seconds=max(0.0, seconds)),
        )
        new = [rec]
    else:
        new = []
    pending = act.read_store(
        lambda: act.rt.store.pending_events(act.run.id, name),
        f"reading the inbox for event {name!r}",
    )
    if pending:
        event = pending[0]
        done = replace_op(rec, status=OpStatus.COMPLETED, finished_at=now, result=event.payload)
        yield Checkpointing(
            [done], [he.op_entry("event_received", done)], extra={"consume_event": (event.id, seq)}
        )
        act.checkpointed(OpKind.EVENT, seq, name)
        act.advance(done)
        return act.decode(event.payload, annotation, where)
    if rec.wake_at is not None and now >= rec.wake_at:
        done = replace_op(rec, status=OpStatus.COMPLETED, finished_at=rec.wake_at, result=None)
        yield Checkpointing([done], [he.op_entry("event_timed_out", done)])
        act.checkpointed(OpKind.EVENT, seq, name)
        act.advance(done)
        return None
    raise Suspend(
        RunStatus.WAITING,
        rec.wake_at,
        f"waiting for event {name!r}",
        ops=new,
        history=[he.op_entry("wait_started", rec)] if new else [],
        wake_on_events=[name],
    )
    yield


def child_flow(
    act: Activation,
    wf: WorkflowDef[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    workflow_id: str | None,
) -> Flow:
    from wfkit.engine.core.starting import new_run

    if not isinstance(wf, WorkflowDef):
        raise DefinitionError(f"ctx.child needs a @workflow, got {type(wf).__name__}")
    act.rt.workflows.setdefault(wf.name, wf)
    seq, rec = act.take(OpKind.CHILD, wf.name)
    where = f"result of child workflow {wf.name!r}"
    if rec is not None and rec.status == OpStatus.COMPLETED:
        act.advance(rec)
        return act.decode(rec.result, return_annotation(wf.fn), where)
    if rec is not None and rec.status == OpStatus.FAILED:
        act.advance(rec)
        raise rebuild_error(rec.error, wf.name)
    if act.replay_only:
        raise Frontier(seq)
    store = act.rt.store
    if rec is None:
        if workflow_id is not None:
            check_id(workflow_id, "child workflow_id")
        act.check_cancel()
        act.starting(OpKind.CHILD, seq, wf.name)
    now = act.rt.clock.now()
    new: list[OperationRecord] = []
    if rec is None:
        child_id = workflow_id or f"{act.run.id}/{seq}"
        run, _ = new_run(
            act.rt,
            wf,
            args,
            kwargs,
            child_id,
            now,
            seed=act.rng.getrandbits(63),
            parent=(act.run.id, seq),
        )
        started = [
            he.run_entry(
                child_id,
                now,
                "run_started",
                workflow=wf.name,
                version=wf.version,
                seed=run.seed,
                parent_id=act.run.id,
            )
        ]
        # create_run inserts only if absent: a retry after a lost answer makes no second child
        act.read_store(
            lambda: store.create_run(run, started), f"starting child workflow {child_id!r}"
        )
        rec = OperationRecord(
            act.run.id,
            seq,
            OpKind.CHILD,
            wf.name,
            OpStatus.STARTED,
            started_at=now,
            result=json.dumps(child_id),
            source=caller_source(),
        )
        new.append(rec)
    child_id = json.loads(rec.result or "null")
    child = act.read_store(lambda: store.get_run(child_id), f"reading child workflow {child_id!r}")
    if child is not None and child.status.terminal:
        return (yield from _finish_child(act, seq, rec, child, where, wf))
    raise Suspend(
        RunStatus.WAITING,
        None,
        f"waiting for child workflow {child_id!r}",
        ops=new,
        history=[he.op_entry("child_started", rec)] if new else [],
        wake_on_events=[CHILD_EVENT.format(seq=seq)],
    )
    yield


def _finish_child(
    act: Activation,
    seq: int,
    rec: OperationRecord,
    child: RunRecord,
    where: str,
    wf: WorkflowDef[Any],
) -> Flow:
    now = act.rt.clock.now()
    if child.status == RunStatus.COMPLETED:
        done = replace_op(rec, status=OpStatus.COMPLETED, finished_at=now, result=child.result)
        yield Checkpointing([done], [he.op_entry("child_completed", done)])
        act.checkpointed(OpKind.CHILD, seq, wf.name)
        act.advance(done)
        return act.decode(child.result, return_annotation(wf.fn), where)
    from wfkit.engine.core.failures import encode_error, error_data

    detail = error_data(child.error)
    exc = ChildWorkflowFailed(
        child.id,
        wf.name,
        child.status.value,
        f"{detail.get('type', '')}: {detail.get('message', '')}" if detail else "",
    )
    done = replace_op(rec, status=OpStatus.FAILED, finished_at=now, error=encode_error(exc))
    yield Checkpointing([done], [he.op_entry("child_failed", done)])
    act.checkpointed(OpKind.CHILD, seq, wf.name)
    act.advance(done)
    raise rebuild_error(done.error, wf.name)


def patched(act: Activation, patch_id: str) -> bool:
    """True for runs that reached this point with the new code; False for older runs.

    A run recorded before the patch existed has some other operation at this position: it
    takes the old path and no sequence number is used. A new run records a marker, so its
    replays keep taking the new path.
    """
    if not isinstance(patch_id, str) or not patch_id:
        raise DefinitionError("ctx.patched needs a non-empty patch id string")
    upcoming = act.peek()
    if upcoming is not None and not (upcoming.kind == OpKind.PATCH and upcoming.name == patch_id):
        return False
    seq, rec = act.take(OpKind.PATCH, patch_id)
    if rec is not None:
        act.advance(rec)
        return True
    act.starting(OpKind.PATCH, seq, patch_id)
    op = OperationRecord(
        act.run.id,
        seq,
        OpKind.PATCH,
        patch_id,
        OpStatus.COMPLETED,
        started_at=act.anchor,
        finished_at=act.anchor,
        source=caller_source(),
    )
    act.commit([op], [he.op_entry("patch_marked", op)])
    act.checkpointed(OpKind.PATCH, seq, patch_id)
    return True


def replace_op(op: OperationRecord, **changes: Any) -> OperationRecord:
    from dataclasses import replace

    return replace(op, **changes)
