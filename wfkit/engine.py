"""The engine: start, drive, inspect and repair durable workflow runs.

``Engine("sqlite:///wfkit.db")`` is all a single process needs: ``handle.result()`` runs the
workflow in the calling thread (children too) until it finishes. ``wfkit worker`` processes run
:meth:`Engine.run_worker` to share the work; leases keep two workers off one run, and a crashed
worker's runs are taken over once its lease expires.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Collection, Iterable, Sequence

from wfkit.clock import Clock, SystemClock
from wfkit.codec import JsonCodec
from wfkit.codec_checks import DEFAULT_MAX_PAYLOAD_BYTES
from wfkit.core import history_entries as he
from wfkit.core.failures import error_data
from wfkit.core.runner import execute
from wfkit.core.runtime import Interceptor, Runtime
from wfkit.core.spec import _returns
from wfkit.core.starting import new_run
from wfkit.definitions import WorkflowDef
from wfkit.errors import (
    DefinitionError,
    InvalidRunState,
    ResultTimeout,
    RunFailed,
    RunNotFound,
    UsageError,
)
from wfkit.progress import Observer, guarded
from wfkit.status import OpKind, OpStatus, RunStatus
from wfkit.store import DEFAULT_STORE_URL, open_store
from wfkit.store.base import (
    Checkpoint,
    HistoryEntry,
    LeaseLost,
    OperationRecord,
    RunRecord,
    Store,
    finished_statuses,
)
from wfkit.worker import Heartbeat

# What `prune` deletes unless told otherwise: FAILED runs wait for a person (retry, skip-step).
PRUNED_BY_DEFAULT = frozenset({RunStatus.COMPLETED, RunStatus.COMPENSATED, RunStatus.CANCELLED})


class WorkflowHandle:
    """A started run: wait for its result, look at its status, send it events, cancel it."""

    def __init__(self, engine: Engine, run_id: str, *, created: bool = False) -> None:
        self.engine = engine
        self.id = run_id
        self.created = created  # True when the start() that returned it made the run

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the run to end; return its result or raise :class:`RunFailed`."""
        return self.engine.result(self.id, timeout=timeout)

    def status(self) -> RunStatus:
        return self.engine.get_run(self.id).status

    def send_event(self, name: str, payload: Any = None) -> None:
        self.engine.send_event(self.id, name, payload)

    def cancel(self, *, compensate: bool = True) -> None:
        self.engine.cancel(self.id, compensate=compensate)

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.id}>"


class Engine:
    def __init__(self, store: str | Store = DEFAULT_STORE_URL, *,
                 workflows: Iterable[WorkflowDef[Any]] = (), clock: Clock | None = None,
                 lease_seconds: float = 30.0, inline_wait: float = 5.0,
                 max_recoveries: int = 5, poll_interval: float = 0.05,
                 owner: str | None = None, interceptor: Interceptor | None = None,
                 rng: random.Random | None = None, child_poll: float = 300.0,
                 observer: Observer | None = None,
                 max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """``observer`` receives progress events (:mod:`wfkit.progress`) as runs advance:
        the engine never prints, so a CLI or an application shows them its own way.
        ``max_payload_bytes`` bounds each stored input, step result and event payload (every
        replay reads them again; see :mod:`wfkit.codec_checks`); None lifts the limit."""
        if max_payload_bytes is not None and (isinstance(max_payload_bytes, bool) or not
                                              isinstance(max_payload_bytes, int)
                                              or max_payload_bytes < 1):
            raise UsageError(f"max_payload_bytes must be a positive int or None, got "
                             f"{max_payload_bytes!r}", hint="e.g. 4 * 1024 * 1024 (4 MiB)")
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_interval = poll_interval
        self._workflows: dict[str, WorkflowDef[Any]] = {}
        self._seed_source = rng or random.Random()
        self.rt = Runtime(store=self.store, clock=self.clock, owner=self.owner,
                          workflows=self._workflows,
                          codec=JsonCodec(max_payload_bytes=max_payload_bytes),
                          rng=rng or random.Random(), lease_seconds=lease_seconds,
                          inline_wait=inline_wait, max_recoveries=max_recoveries,
                          interceptor=interceptor, child_poll=child_poll,
                          observer=guarded(observer))
        self._heartbeat = Heartbeat(self.store, self.clock, self.owner, lease_seconds)
        self.register(*workflows)

    # -- definitions ---------------------------------------------------------------------------
    def register(self, *workflows: WorkflowDef[Any]) -> None:
        """Make workflows runnable by this engine (``start`` registers its workflow too)."""
        for wf in workflows:
            if not isinstance(wf, WorkflowDef):
                raise DefinitionError(f"expected a @workflow, got {type(wf).__name__}",
                                      hint="decorate the function with @wfkit.workflow")
            known = self._workflows.get(wf.name)
            if known is not None and known.fn is not wf.fn:
                raise DefinitionError(
                    f"two different workflows are named {wf.name!r} "
                    f"({known.fn.__module__}.{known.fn.__qualname__} and "
                    f"{wf.fn.__module__}.{wf.fn.__qualname__})",
                    hint="give one of them @workflow(name=...)")
            self._workflows[wf.name] = wf

    @property
    def workflows(self) -> dict[str, WorkflowDef[Any]]:
        return dict(self._workflows)

    # -- starting and waiting ------------------------------------------------------------------
    def start(self, workflow: WorkflowDef[Any], *args: Any, workflow_id: str | None = None,
              **kwargs: Any) -> WorkflowHandle:
        """Create a run (idempotent on ``workflow_id``: a second start returns the same run)."""
        self.register(workflow)
        if workflow_id is not None and (not isinstance(workflow_id, str)
                                        or not workflow_id.strip()):
            raise UsageError(f"workflow_id must be a non-empty string, got {workflow_id!r}")
        now = self.clock.now()
        try:
            # Without workflow_id, the workflow's own workflow_id template or a UUID names it.
            run, _ = new_run(self.rt, workflow, args, kwargs, workflow_id, now,
                             seed=self._seed_source.getrandbits(63))
        except Exception:
            # Starting an existing run again needs no input (`wfkit run --id ID` resumes it):
            # looked up only here, so the common start costs one statement less.
            existing = None if workflow_id is None else self.store.get_run(workflow_id)
            if existing is None:
                raise
            return self._same_run(existing, workflow)
        # The input is stored once, in the run; its history line does not repeat it.
        stored, created = self.store.create_run(run, [he.run_entry(
            run.id, now, "run_started", workflow=workflow.name, version=workflow.version,
            seed=run.seed)])
        if not created:
            return self._same_run(stored, workflow)
        return WorkflowHandle(self, run.id, created=True)

    def _same_run(self, existing: RunRecord, workflow: WorkflowDef[Any]) -> WorkflowHandle:
        if existing.workflow != workflow.name:
            raise UsageError(f"workflow id {existing.id!r} is already used by a "
                             f"{existing.workflow!r} run",
                             hint="choose another workflow_id")
        return WorkflowHandle(self, existing.id)

    def handle(self, run_id: str) -> WorkflowHandle:
        self.get_run(run_id)
        return WorkflowHandle(self, run_id)

    def result(self, run_id: str, *, timeout: float | None = None,
               drive: bool = True) -> Any:
        """Wait for a run to end, running it (and its children) here while ``drive`` is on."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Claim first: a run that is runnable is advanced before its state is read, so
            # the common start-then-result reads the run once, after it has finished.
            worked = drive and self.work_once(run_id=run_id)
            run = self.get_run(run_id)
            if run.status.terminal:
                return self._outcome(run)
            if worked or (drive and self.work_once()):
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise ResultTimeout(run_id, timeout or 0.0, run.status.value)
            self._nap(left)

    def _outcome(self, run: RunRecord) -> Any:
        if run.status != RunStatus.COMPLETED:
            raise RunFailed(run.id, run.status.value, error_data(run.error) or None)
        wf = self._workflows.get(run.workflow)
        annotation = _returns(wf.fn) if wf is not None else Any
        return self.rt.codec.decode(run.result or "null", annotation,
                                    where=f"result of workflow {run.workflow!r}")

    def _nap(self, left: float | None) -> None:
        pause = self._pause(self.poll_interval)
        if getattr(self.clock, "virtual", False):
            wake = self.store.next_wake()
            if wake is not None and wake > self.clock.now():  # jump straight to the timer
                pause = (wake - self.clock.now()).total_seconds()
        elif left is not None:
            pause = min(pause, left)  # ``left`` is real time: it bounds only real waits
        self.clock.sleep(pause)

    def _pause(self, interval: float) -> float:
        """How long an idle loop may sleep: until the next timer, at most ``interval``.

        A wake time already past belongs to a run this engine could not claim (another
        worker holds it, or this engine does not know its workflow): it is no reason to
        wake early, or an idle worker would spin while another one works.
        """
        wake = self.store.next_wake()
        if wake is None:
            return interval
        until_wake = (wake - self.clock.now()).total_seconds()
        return interval if until_wake <= 0 else min(interval, until_wake)

    # -- executing -----------------------------------------------------------------------------
    def work_once(self, run_id: str | None = None) -> bool:
        """Claim one runnable run and advance it; False when nothing was runnable."""
        now = self.clock.now()
        until = now + timedelta(seconds=self.rt.lease_seconds)
        claimed = self.store.claim(self.owner, now, until, limit=1, run_id=run_id,
                                   workflows=sorted(self._workflows))
        if not claimed:
            return False
        self._process(claimed[0])
        return True

    def wake_orphaned_parents(self) -> list[str]:
        """Wake parents whose child finished while its wake-up note was lost in a crash."""
        from wfkit.core.waits import CHILD_EVENT

        woken = []
        for parent in self.store.list_runs(status=RunStatus.WAITING):
            for op in self.store.operations(parent.id):
                if op.kind != OpKind.CHILD or op.status != OpStatus.STARTED:
                    continue
                child = self.store.get_run(json.loads(op.result or "null"))
                if child is not None and child.status.terminal:
                    self.store.add_event(parent.id, CHILD_EVENT.format(seq=op.seq), "null",
                                         self.clock.now())
                    woken.append(parent.id)
        return sorted(set(woken))

    def recover(self) -> list[str]:
        """Advance every runnable run now, taking over runs whose worker's lease expired."""
        self.wake_orphaned_parents()
        done: list[str] = []
        while True:
            now = self.clock.now()
            claimed = self.store.claim(self.owner, now,
                                       now + timedelta(seconds=self.rt.lease_seconds),
                                       workflows=sorted(self._workflows))
            if not claimed:
                return done
            self._process(claimed[0])
            done.append(claimed[0].id)

    def _process(self, claimed: RunRecord) -> None:
        wf = self._workflows[claimed.workflow]
        run = claimed
        if claimed.lease_owner is not None:  # the last worker died holding this run
            run = self._recovered(claimed)
            if run is None:
                return
        self._heartbeat.add(run.id)
        try:
            execute(self.rt, run, wf, lease_owner=self.owner)
        except LeaseLost:
            pass  # another worker owns the run now; it will carry on from the checkpoints
        except Exception:
            self.store.release(self.owner, run.id)
            raise
        finally:
            self._heartbeat.discard(run.id)

    def _recovered(self, claimed: RunRecord) -> RunRecord | None:
        now = self.clock.now()
        recoveries = claimed.recoveries + 1
        if recoveries > self.rt.max_recoveries:
            error = {"type": "CrashLoop", "module": "wfkit",
                     "message": f"workers crashed {recoveries - 1} times while running this "
                                f"workflow (limit {self.rt.max_recoveries})"}
            self.store.commit(claimed.id, Checkpoint(
                run={"status": RunStatus.FAILED, "error": json.dumps(error),
                     "finished_at": now, "updated_at": now, "recoveries": recoveries},
                history=[he.run_entry(claimed.id, now, "run_failed", error=error)],
                release_lease=True), lease_owner=self.owner, now=now)
            return None
        self.store.commit(claimed.id, Checkpoint(
            run={"recoveries": recoveries, "updated_at": now},
            history=[he.run_entry(claimed.id, now, "run_recovered",
                                  previous_owner=claimed.lease_owner, recoveries=recoveries)]),
            lease_owner=self.owner, now=now)
        claimed.recoveries = recoveries
        return claimed

    def run_worker(self, *, stop: threading.Event | None = None, concurrency: int = 1,
                   idle_interval: float = 0.5,
                   on_idle: Callable[[], None] | None = None) -> None:
        """Process runs until ``stop`` is set (a ``wfkit worker`` process runs this)."""
        stop = stop or threading.Event()
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")

        def loop() -> None:
            while not stop.is_set():
                if self.work_once():
                    continue
                if on_idle is not None:
                    on_idle()
                self.clock.wait(stop, self._pause(idle_interval))

        threads = [threading.Thread(target=loop, name=f"wfkit-worker-{i}", daemon=True)
                   for i in range(concurrency - 1)]
        for t in threads:
            t.start()
        try:
            loop()
        finally:
            stop.set()
            for t in threads:
                t.join()

    # -- talking to runs -----------------------------------------------------------------------
    def get_run(self, run_id: str) -> RunRecord:
        run = self.store.get_run(run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run

    def list_runs(self, *, status: RunStatus | str | None = None, workflow: str | None = None,
                  limit: int | None = None) -> list[RunRecord]:
        if isinstance(status, str):
            status = _parse_status(status)
        return self.store.list_runs(status=status, workflow=workflow, limit=limit)

    def operations(self, run_id: str) -> list[OperationRecord]:
        self.get_run(run_id)
        return self.store.operations(run_id)

    def history(self, run_id: str) -> list[HistoryEntry]:
        self.get_run(run_id)
        return self.store.history(run_id)

    def send_event(self, run_id: str, name: str, payload: Any = None) -> None:
        """Deliver an event; it is buffered until the run waits for ``name``."""
        run = self.get_run(run_id)
        if not isinstance(name, str) or not name or name.startswith("wfkit."):
            raise UsageError(f"invalid event name {name!r}",
                             hint="use a non-empty name that does not start with 'wfkit.'")
        if run.status.terminal:
            raise InvalidRunState(f"run {run_id!r} is {run.status.value}; events are only "
                                  "delivered to runs that have not finished",
                                  run_id=run_id, status=run.status.value,
                                  hint="start a new run, or check the id with `wfkit list`")
        text = self.rt.codec.encode(payload, where=f"payload of event {name!r}")
        self.store.add_event(run_id, name, text, self.clock.now())

    def cancel(self, run_id: str, *, compensate: bool = True, drive: bool = True) -> None:
        """Stop a run; with ``compensate`` its completed steps are undone first.

        Child workflows still running are cancelled first, innermost first, so their work is
        undone before the parent's.
        """
        run = self.get_run(run_id)
        if run.status.terminal:
            raise InvalidRunState(f"run {run_id!r} already ended {run.status.value}",
                                  run_id=run_id, status=run.status.value,
                                  hint="only runs that have not finished can be cancelled")
        for child in self.store.list_runs(parent_id=run_id):
            if not child.status.terminal:
                self.cancel(child.id, compensate=compensate, drive=drive)
        now = self.clock.now()
        self.store.commit(run_id, Checkpoint(
            run={"cancel_requested": True, "compensate_on_cancel": compensate, "wake_at": now,
                 "updated_at": now},
            history=[he.run_entry(run_id, now, "cancel_requested", compensate=compensate)]))
        if drive and run.workflow in self._workflows:
            self.work_once(run_id=run_id)

    def retry(self, run_id: str) -> None:
        """Resume a FAILED run from its checkpoints (a failed compensation is tried again)."""
        run = self.get_run(run_id)
        if run.status != RunStatus.FAILED:
            raise InvalidRunState(f"run {run_id!r} is {run.status.value}, not FAILED",
                                  run_id=run_id, status=run.status.value,
                                  hint="only FAILED runs can be retried")
        data = error_data(run.error)
        ops = self.store.operations(run_id)
        now = self.clock.now()
        if str(data.get("during", "")).startswith("compensation"):
            failed = [op.seq for op in ops if op.kind == OpKind.COMPENSATION
                      and op.status == OpStatus.FAILED]
            changes: dict[str, Any] = {"status": RunStatus.COMPENSATING,
                                       "error": json.dumps(data.get("original")) if
                                       data.get("original") else run.error}
        else:
            failed = []
            changes = {"status": RunStatus.PENDING, "error": None, "recoveries": 0}
        changes.update(finished_at=None, wake_at=None, updated_at=now)
        self.store.commit(run_id, Checkpoint(
            run=changes, discard_operations=failed,
            history=[he.run_entry(run_id, now, "run_retried", discarded=failed)]))

    def skip_step(self, run_id: str, step: str, result: Any = None) -> None:
        """Record a result by hand for a failed step (or compensation) of a FAILED run."""
        run = self.get_run(run_id)
        if run.status != RunStatus.FAILED:
            raise InvalidRunState(f"run {run_id!r} is {run.status.value}, not FAILED",
                                  run_id=run_id, status=run.status.value,
                                  hint="skip-step only repairs FAILED runs")
        ops = self.store.operations(run_id)
        data = error_data(run.error)
        # A failed step, or one skipped before with a value that turned out not to fit.
        failed = [op for op in ops if op.name == step and (
            op.status == OpStatus.FAILED
            or (op.status == OpStatus.SKIPPED and data.get("type") == "RecordedValueError"))]
        if not failed:
            names = sorted({op.name for op in ops if op.status == OpStatus.FAILED})
            raise InvalidRunState(
                f"step {step!r} did not fail in run {run_id!r}", run_id=run_id,
                status=run.status.value,
                hint=f"failed steps: {', '.join(names)}" if names
                else "no step of this run failed; try `wfkit retry`")
        op = failed[-1]
        now = self.clock.now()
        if op.kind == OpKind.COMPENSATION:
            skipped = _skipped(op, None, now)
            changes: dict[str, Any] = {"status": RunStatus.COMPENSATING,
                                       "error": json.dumps(data["original"])
                                       if data.get("original") else run.error}
            discard: Sequence[int] = ()
        else:
            undone = [c.name for c in ops if c.kind == OpKind.COMPENSATION
                      and c.status in (OpStatus.COMPLETED, OpStatus.SKIPPED)]
            if undone:
                raise InvalidRunState(
                    f"compensations already ran for {', '.join(undone)} in run {run_id!r}, so "
                    f"step {step!r} cannot be rolled forward", run_id=run_id,
                    status=run.status.value, hint="skip the failed compensation instead")
            text = self.rt.codec.encode(result, where=f"result given for step {step!r}")
            skipped = _skipped(op, text, now)
            changes = {"status": RunStatus.PENDING, "error": None}
            discard = [c.seq for c in ops if c.kind == OpKind.COMPENSATION]
        changes.update(finished_at=None, wake_at=None, updated_at=now)
        self.store.commit(run_id, Checkpoint(
            run=changes, operations=[skipped], discard_operations=discard,
            history=[he.op_entry("step_skipped", skipped),
                     he.run_entry(run_id, now, "run_repaired", step=step,
                                  discarded=list(discard))]))

    # -- retention ---------------------------------------------------------------------------
    def prune(self, older_than: timedelta | float, *,
              statuses: Collection[RunStatus | str] = PRUNED_BY_DEFAULT,
              dry_run: bool = False, batch: int = 500) -> list[str]:
        """Delete runs that finished more than ``older_than`` ago (seconds or a timedelta),
        with their operations, history and events; return their ids, oldest finish first.

        Only finished runs, and by default not FAILED ones (they wait for a person: pass
        ``statuses`` to include them). A run whose parent or child is still live is kept.
        ``dry_run`` returns what would be deleted. Deletes go ``batch`` runs per
        transaction, so workers are never held up for long.
        """
        from wfkit.core.waits import to_seconds

        seconds = to_seconds(older_than, "older_than")
        if seconds < 0:
            raise UsageError(f"older_than must not be negative, got {older_than!r}",
                             hint="pass how long ago runs must have finished, e.g. 30 days")
        try:
            wanted = finished_statuses(statuses)
        except ValueError as exc:
            raise UsageError(str(exc), hint="use COMPLETED, COMPENSATED, CANCELLED or FAILED") \
                from None
        cutoff = self.clock.now() - timedelta(seconds=seconds)
        candidates = self.store.prunable_runs(cutoff, wanted)
        if dry_run:
            return candidates
        deleted: list[str] = []
        for start in range(0, len(candidates), max(batch, 1)):
            deleted += self.store.delete_runs(candidates[start:start + max(batch, 1)], cutoff,
                                              wanted)
        return deleted

    def close(self) -> None:
        self._heartbeat.stop()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _skipped(op: OperationRecord, result: str | None, now: datetime) -> OperationRecord:
    from dataclasses import replace

    return replace(op, status=OpStatus.SKIPPED, result=result, finished_at=now)


def _parse_status(value: str) -> RunStatus:
    try:
        return RunStatus(value.upper())
    except ValueError:
        raise UsageError(f"unknown status {value!r}", hint="one of " + ", ".join(
            s.value for s in RunStatus)) from None
