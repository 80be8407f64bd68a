"""The lifecycle of one activation: body, then park, complete, compensate or fail.

Compensation replays the body first (without executing anything new) to learn which completed
steps have compensations and with which arguments and results, then undoes them in reverse
completion order, each as a durable, retried operation with its own sequence number.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from wfkit.engine.binding import return_annotation
from wfkit.engine.context import Context
from wfkit.engine.core import history_entries as he
from wfkit.engine.core.activation import Activation, Registered
from wfkit.engine.core.failures import encode_error, error_data
from wfkit.engine.core.numbering import next_compensation_seq
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.spec import StepSpec
from wfkit.engine.core.starting import decode_input
from wfkit.engine.core.unwinding import Cancelled, Frontier, Held, Suspend
from wfkit.engine.core.waits import CHILD_EVENT
from wfkit.engine.definitions import WorkflowDef, current_activation
from wfkit.engine.progress import CompensationStarted, RunParked, error_line
from wfkit.engine.retry import DEFAULT_COMPENSATION_RETRY
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import CancelRequested, OperationRecord, RunRecord
from wfkit.errors import NonDeterminismError, RecordedValueError, SerializationError

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def execute(
    rt: Runtime,
    run: RunRecord,
    wf: WorkflowDef[Any],
    *,
    lease_owner: str | None,
    operations: Sequence[OperationRecord] | None = None,
) -> Activation:
    """Advance ``run`` as far as it can go now; the returned activation tells what happened."""
    act = _activation(rt, run, wf, lease_owner, operations)
    token = current_activation.set(act)
    try:
        _advance(act)
    except Held as paused:
        _hold(act, paused)
    finally:
        current_activation.reset(token)
    return act


def _activation(
    rt: Runtime,
    run: RunRecord,
    wf: WorkflowDef[Any],
    lease_owner: str | None,
    operations: Sequence[OperationRecord] | None = None,
) -> Activation:
    """A run being undone or cancelled only replays its body, to learn what to undo."""
    winding_down = run.status == RunStatus.COMPENSATING or run.cancel_requested
    return Activation(
        rt,
        run,
        wf,
        lease_owner=lease_owner,
        make_context=Context,
        operations=operations,
        replay_only=winding_down,
    )


def _advance(act: Activation) -> None:
    try:
        args, kwargs = decode_input(act.rt, act.wf, act.run.input)
        result = call_body(act, args, kwargs)
    except (Suspend, Cancelled, Frontier, Exception) as exc:
        _body_raised(act, exc)
        return
    if _body_returned(act):
        _complete(act, result)


async def execute_async(
    rt: Runtime,
    run: RunRecord,
    wf: WorkflowDef[Any],
    *,
    lease_owner: str | None,
    write: Callable[..., Awaitable[bool]],
) -> Activation:
    """:func:`execute` for an async workflow, awaited on a worker's event loop
    (:mod:`wfkit.engine.task_lane`). The body and its steps run on the loop and their
    checkpoints are awaited through ``write``; the rarer endings that write several
    checkpoints or retry (parking, compensating, failing, a pause) run in a thread, as
    :func:`execute` would run them, so they never hold up the loop's other runs."""
    act = _activation(rt, run, wf, lease_owner)
    act.write_async = write
    token = current_activation.set(act)
    try:
        try:
            args, kwargs = decode_input(act.rt, act.wf, act.run.input)
            result = await act.wf.fn(act.context, *args, **kwargs)
        except (Suspend, Cancelled, Frontier, Exception) as exc:
            await asyncio.to_thread(_body_raised, act, exc)
        else:
            if act.replay_only or act.cancel_seen or leftover_operation(act) is not None:
                if await asyncio.to_thread(_body_returned, act):
                    await asyncio.to_thread(_complete, act, result)
            else:
                await _complete_async(act, result)
    except Held as paused:
        await asyncio.to_thread(_hold, act, paused)
    finally:
        current_activation.reset(token)
    return act


def _body_raised(act: Activation, exc: BaseException) -> None:
    """The run after its body raised: parked, undone, or failed."""
    if isinstance(exc, Suspend):
        _park(act, exc)
    elif isinstance(exc, (Cancelled, Frontier)):
        _compensate(act, None)
    elif isinstance(exc, (NonDeterminismError, RecordedValueError)):
        _fail(act, exc)  # the code or the record is wrong: undoing good work would not help
    else:
        seen = getattr(act.rt.interceptor, "body_raised", None)
        if seen is not None:  # the test harness keeps the traceback (where the code raised)
            seen(act.run.id, exc)
        _compensate(act, None if act.replay_only else exc)


def _body_returned(act: Activation) -> bool:
    """Whether a run whose body returned completes now; if not, it was undone or failed
    here (a replay for compensation, a divergence, a cancel seen at the last checkpoint)."""
    if act.replay_only:
        _compensate(act, None)
        return False
    leftover = leftover_operation(act)
    if leftover is not None:
        _fail(
            act,
            NonDeterminismError(
                position=leftover.seq,
                recorded=f"{leftover.kind} {leftover.name!r}",
                current="the workflow returning",
                source=leftover.source,
                run_id=act.run.id,
                diff=act.divergence(leftover.seq, "(the workflow returned)"),
            ),
        )
        return False
    try:
        act.check_cancel()  # a cancel seen at the last step's checkpoint comes first
    except Cancelled:
        _compensate(act, None)
        return False
    return True


def call_body(act: Activation, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    if not act.wf.is_async:
        return act.wf.fn(act.context, *args, **kwargs)
    coro = act.wf.fn(act.context, *args, **kwargs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return _run_in_fresh_thread(coro)  # called from async code: never nest event loops


def _run_in_fresh_thread(coro: Any) -> Any:
    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = ctx.run(asyncio.run, coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="wfkit-async-workflow")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def leftover_operation(act: Activation) -> OperationRecord | None:
    """The first recorded operation the body did not reach this time (a divergence if the
    body returned), compensations aside."""
    later = [op for seq, op in act.ops.items() if seq > act.seq and op.kind != OpKind.COMPENSATION]
    return min(later, key=lambda op: op.seq) if later else None


def _park(act: Activation, suspend: Suspend) -> None:
    wake = suspend.wake_at
    if (
        suspend.status == RunStatus.WAITING
        and suspend.wake_on_events
        and suspend.wake_on_events[0].startswith("wfkit.child:")
    ):
        # Safety net: a child's wake-up note is sent after its final commit; should the
        # child's process die in between, the parent still looks again within this bound.
        poll = act.rt.clock.now() + timedelta(seconds=act.rt.child_poll)
        wake = poll if wake is None else min(wake, poll)
    act.commit(
        suspend.ops,
        suspend.history,
        run={"status": suspend.status, "wake_at": wake},
        release_lease=True,
        wake_on_events=suspend.wake_on_events,
    )
    act.outcome = suspend.status
    if act.rt.observer is not None:
        act.rt.observer.notify(RunParked(act.run.id, suspend.status, wake, suspend.reason))
    for op in suspend.ops:
        act.checkpointed(op.kind, op.seq, op.name)


def _hold(act: Activation, paused: Held) -> None:
    """A paused run (or workflow) reached a step: it does not start. The run keeps its status
    and lets go of its lease in one checkpoint, so this worker moves on instead of spinning
    on it; claim() passes it by until `wfkit resume` (wfkit.engine.pausing)."""
    now = act.rt.clock.now()
    act.commit(
        history=[
            he.run_entry(
                act.run.id,
                now,
                "run_held",
                reason=paused.reason,
                next_seq=paused.seq,
                next_step=paused.name,
            )
        ],
        release_lease=True,
        at=now,
    )
    if act.rt.observer is not None:
        act.rt.observer.notify(
            RunParked(
                act.run.id,
                act.phase,
                None,
                f"{paused.reason}: step {paused.name!r} waits for `wfkit resume`",
            )
        )


def _complete(act: Activation, result: Any) -> None:
    try:
        text = _result_text(act, result)
    except SerializationError as exc:
        _compensate(act, exc)
        return
    now = act.rt.clock.now()
    try:  # a cancel requested after the last checkpoint read the flag still wins
        act.commit(**_completion(act, text, now))
    except CancelRequested:
        _cancelled_at_the_end(act)
        return
    act.outcome = RunStatus.COMPLETED


async def _complete_async(act: Activation, result: Any) -> None:
    """:func:`_complete` on the worker's event loop: the completing checkpoint is awaited
    like a step's; the rare turns (a result that cannot be stored, a cancel that wins) go to
    a thread."""
    try:
        text = _result_text(act, result)
    except SerializationError as exc:
        await asyncio.to_thread(_compensate, act, exc)
        return
    now = act.rt.clock.now()
    try:
        await act.commit_async(**_completion(act, text, now))
    except CancelRequested:
        await asyncio.to_thread(_cancelled_at_the_end, act)
        return
    act.outcome = RunStatus.COMPLETED


def _result_text(act: Activation, result: Any) -> str:
    text = act.rt.codec.encode(result, where=f"result of workflow {act.wf.name!r}")
    act.rt.codec.settle(
        result,
        text,
        return_annotation(act.wf.fn),  # it must come back as itself
        where=f"result of workflow {act.wf.name!r}",
    )
    return text


def _completion(act: Activation, text: str, now: datetime) -> dict[str, Any]:
    """The completing checkpoint's arguments to :meth:`Activation.commit`."""
    return {
        "history": [he.run_entry(act.run.id, now, "run_completed")],  # result: run row
        "run": {
            "status": RunStatus.COMPLETED,
            "result": text,
            "finished_at": now,
            "wake_at": None,
        },
        "release_lease": True,
        "send_events": parent_note(act.run),
        "unless_cancelled": True,
        "at": now,
    }


def _cancelled_at_the_end(act: Activation) -> None:
    act.learn_cancel()
    _compensate(act, None)


def _fail(act: Activation, exc: BaseException, during: str | None = None) -> None:
    now = act.rt.clock.now()
    if during is None and (act.phase == RunStatus.COMPENSATING or act.run.cancel_requested):
        # The body's replay failed while the run was being undone or cancelled (the code
        # changed under it, say): `wfkit retry` must go back to compensating, not run the
        # body forward.
        during = "compensation (replaying the workflow body)"
    data = error_data(encode_error(exc))
    if during:
        data["during"] = during
    original = error_data(act.run.error) if act.run.error else None
    if original and during:
        data["original"] = original
    text = json.dumps(data)
    act.commit(
        history=[he.run_entry(act.run.id, now, "run_failed", error=data)],
        run={"status": RunStatus.FAILED, "error": text, "finished_at": now, "wake_at": None},
        release_lease=True,
        send_events=parent_note(act.run),
        at=now,
    )
    act.run.error = text
    act.outcome = RunStatus.FAILED


def _compensate(act: Activation, error: BaseException | None) -> None:
    cancelled = act.run.cancel_requested
    act.replay_only = False  # the body has been replayed; compensations execute for real
    if act.phase != RunStatus.COMPENSATING:
        act.phase = RunStatus.COMPENSATING
        now = act.rt.clock.now()
        changes: dict[str, Any] = {"status": RunStatus.COMPENSATING, "wake_at": None}
        data: dict[str, Any] = {"cancelled": cancelled}
        if error is not None:
            changes["error"] = encode_error(error)
            act.run.error = changes["error"]
            data["error"] = error_data(changes["error"])
        act.commit(
            history=[he.run_entry(act.run.id, now, "compensation_started", **data)], run=changes
        )
        if act.rt.observer is not None:
            act.rt.observer.notify(
                CompensationStarted(
                    act.run.id, len(act.registered), cancelled, error_line(error) if error else None
                )
            )
    if cancelled and not act.run.compensate_on_cancel:
        _finish_compensation(act, RunStatus.CANCELLED)
        return
    done = {op.compensates: op for op in act.ops.values() if op.kind == OpKind.COMPENSATION}
    for reg in sorted(act.registered, key=lambda r: (r.finished_at or _EPOCH, r.seq), reverse=True):
        existing = done.get(reg.seq)
        if existing is not None and existing.status in (OpStatus.COMPLETED, OpStatus.SKIPPED):
            continue
        if existing is not None and existing.status == OpStatus.FAILED:
            _fail(
                act,
                _CompensationFailed(reg.name, existing.error),
                during=f"compensation of step {reg.name!r}",
            )
            return
        seq = (
            existing.seq
            if existing is not None
            else next_compensation_seq(op.kind for op in act.ops.values())
        )
        undone = act.ops.get(reg.seq)
        try:
            act.drive(
                act.step_flow(
                    _compensation_spec(reg),
                    (*reg.args, reg.result),
                    reg.kwargs,
                    kind=OpKind.COMPENSATION,
                    seq=seq,
                    rec=existing,
                    compensates=reg.seq,
                    source=undone.source if undone is not None else None,
                )
            )
        except Suspend as suspend:
            _park(act, Suspend(RunStatus.COMPENSATING, suspend.wake_at, suspend.reason))
            return
        except Exception as exc:
            _fail(act, exc, during=f"compensation of step {reg.name!r}")
            return
    _finish_compensation(act, RunStatus.CANCELLED if cancelled else RunStatus.COMPENSATED)


def _finish_compensation(act: Activation, status: RunStatus) -> None:
    now = act.rt.clock.now()
    act.commit(
        history=[he.run_entry(act.run.id, now, "run_" + status.value.lower())],
        run={"status": status, "finished_at": now, "wake_at": None},
        release_lease=True,
        send_events=parent_note(act.run),
        at=now,
    )
    act.outcome = status


def _compensation_spec(reg: Registered) -> StepSpec:
    return StepSpec(
        name=reg.name,
        fn=reg.fn,
        is_async=reg.is_async,
        retry=DEFAULT_COMPENSATION_RETRY,
        timeout=None,
        compensate=None,
        optional=False,
        idempotent=False,
        at_most_once=False,
        returns=Any,
    )


class _CompensationFailed(Exception):
    def __init__(self, step: str, error: str | None) -> None:
        data = error_data(error)
        super().__init__(
            f"compensation of step {step!r} failed: "
            f"{data.get('type', 'Error')}: {data.get('message', '')}"
        )


def parent_note(run: RunRecord) -> tuple[tuple[str, str, str], ...]:
    """The wake-up note a finished child leaves its parent, written with the child's last
    checkpoint (one transaction): no crash can come between the two."""
    if run.parent_id is None or run.parent_seq is None:
        return ()
    return ((run.parent_id, CHILD_EVENT.format(seq=run.parent_seq), "null"),)
