"""The engine: start, drive, inspect and repair durable workflow runs.

``Engine("sqlite:///wfkit.db")`` is all a single process needs: ``handle.result()`` runs the
workflow in the calling thread (children too) until it finishes. ``wfkit worker`` processes run
:meth:`Engine.run_worker` to share the work; leases keep two workers off one run, and a crashed
worker's runs are taken over once its lease expires.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from wfkit.engine import pausing, recovery
from wfkit.engine.binding import return_annotation
from wfkit.engine.claimed import ClaimedRuns
from wfkit.engine.claiming import Claimer
from wfkit.engine.clock import Clock, SystemClock
from wfkit.engine.codec import JsonCodec
from wfkit.engine.codec_checks import DEFAULT_MAX_PAYLOAD_BYTES
from wfkit.engine.core import history_entries as he
from wfkit.engine.core.failures import error_data
from wfkit.engine.core.runtime import Interceptor, Runtime
from wfkit.engine.core.store_faults import StoreUnavailable, persist
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.engine_options import MIN_LEASE_SECONDS as MIN_LEASE_SECONDS
from wfkit.engine.engine_options import check_engine_options, open_engine_store
from wfkit.engine.fork import ForkPlan, make_fork, plan_fork
from wfkit.engine.ids import check_id
from wfkit.engine.interventions import (
    force_cancel,
    require_failed,
    retry_from_checkpoints,
    retry_with_input,
    skip_failed_step,
)
from wfkit.engine.patches import GateReport, gate_reports
from wfkit.engine.progress import Observer, guarded
from wfkit.engine.queues import Queue
from wfkit.engine.registration import check_queue, check_workflow
from wfkit.engine.retention import PRUNED_BY_DEFAULT as PRUNED_BY_DEFAULT
from wfkit.engine.retention import prune_cutoff as prune_cutoff
from wfkit.engine.retention import prune_runs
from wfkit.engine.run_start import start_run
from wfkit.engine.schedule_control import Schedules
from wfkit.engine.status import RunStatus
from wfkit.engine.store import DEFAULT_STORE_URL
from wfkit.engine.store.base import (
    CancelRequested,
    Checkpoint,
    HistoryEntry,
    OperationRecord,
    RunRecord,
    Store,
)
from wfkit.engine.versions import VersionGroup, version_groups
from wfkit.engine.worker import Heartbeat
from wfkit.engine.worker_loop import idle_pause, run_worker_loop
from wfkit.errors import (
    InvalidRunState,
    ResultTimeout,
    RunFailed,
    RunNotFound,
    StoreError,
    UsageError,
)


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

    def cancel(self, *, compensate: bool = True) -> bool:
        """Request cancellation; False when it had been requested already (see Engine.cancel)."""
        return self.engine.cancel(self.id, compensate=compensate)

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.id}>"


class Engine:
    def __init__(
        self,
        store: str | os.PathLike[str] | Store = DEFAULT_STORE_URL,
        *,
        workflows: Iterable[WorkflowDef[Any]] = (),
        clock: Clock | None = None,
        lease_seconds: float = 30.0,
        inline_wait: float = 5.0,
        max_recoveries: int = 5,
        poll_interval: float = 0.05,
        owner: str | None = None,
        interceptor: Interceptor | None = None,
        rng: random.Random | None = None,
        child_poll: float = 300.0,
        observer: Observer | None = None,
        max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES,
        queues: Iterable[Queue] = (),
    ) -> None:
        """``observer`` receives progress events (:mod:`wfkit.engine.progress`) as runs advance:
        the engine never prints, so a CLI or an application shows them its own way.
        ``max_payload_bytes`` bounds each stored input, step result and event payload (every
        replay reads them again; see :mod:`wfkit.engine.codec_checks`); None lifts the limit."""
        check_engine_options(
            lease_seconds=lease_seconds,
            inline_wait=inline_wait,
            max_recoveries=max_recoveries,
            poll_interval=poll_interval,
            child_poll=child_poll,
            max_payload_bytes=max_payload_bytes,
        )
        self.store: Store = open_engine_store(store)
        self.clock: Clock = clock or SystemClock()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_interval = poll_interval
        self._workflows: dict[str, WorkflowDef[Any]] = {}
        self._queues: dict[str, Queue] = {}
        self._seed_source = rng or random.Random()
        self.rt = Runtime(
            store=self.store,
            clock=self.clock,
            owner=self.owner,
            workflows=self._workflows,
            codec=JsonCodec(max_payload_bytes=max_payload_bytes),
            rng=rng or random.Random(),
            lease_seconds=lease_seconds,
            inline_wait=inline_wait,
            max_recoveries=max_recoveries,
            interceptor=interceptor,
            child_poll=child_poll,
            observer=guarded(observer),
        )
        self._heartbeat = Heartbeat(
            self.store, self.clock, self.owner, lease_seconds, health=self.rt.health
        )
        self.rt.leases = self._heartbeat
        self._claimed = ClaimedRuns(self.rt, self._heartbeat)
        self._claims = Claimer(self.rt, self._queues)
        self.register(*workflows)
        for queue in queues:
            self.register_queue(queue)

    # -- definitions (checked in wfkit.engine.registration) ------------------------------------
    def register(self, *workflows: WorkflowDef[Any]) -> None:
        """Make workflows runnable by this engine (``start`` registers its workflow too)."""
        for wf in workflows:
            check_workflow(self.rt, self._workflows, wf)
            if wf.queue is not None:
                self.register_queue(wf.queue)
            self._workflows[wf.name] = wf

    def register_queue(self, queue: Queue) -> None:
        """Declare a queue: runs started on it wait (QUEUED) until a worker of this store
        dequeues them within its limits (:mod:`wfkit.engine.queues`)."""
        check_queue(self._queues, queue)
        self._queues[queue.name] = queue

    @property
    def queues(self) -> dict[str, Queue]:
        return dict(self._queues)

    @property
    def workflows(self) -> dict[str, WorkflowDef[Any]]:
        return dict(self._workflows)

    @property
    def schedules(self) -> Schedules:
        """The registered workflows' schedules: fire, list, pause, resume, trigger, backfill
        (:mod:`wfkit.engine.schedule_control`). Workers fire them by themselves."""
        return Schedules(self)

    # -- starting and waiting ------------------------------------------------------------------
    def start(
        self,
        workflow: WorkflowDef[Any],
        *args: Any,
        workflow_id: str | None = None,
        queue: Queue | str | None = None,
        queue_key: str | None = None,
        queue_priority: int = 0,
        queue_dedup_key: str | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle:
        """Create a run (idempotent on ``workflow_id``: a second start returns the same run).

        With ``queue`` the run is QUEUED until a worker dequeues it within the queue's limits:
        ``queue_key`` is what the queue's ``per_key`` limit counts by, ``queue_priority``
        orders the queue (0, the default, first; FIFO within a priority), and
        ``queue_dedup_key`` refuses (:class:`QueueDeduplicated`) a second start while a run
        of the queue with that key has not finished. The ``queue`` prefix keeps these clear
        of the workflow's own keyword arguments."""
        self.register(workflow)
        run, created = start_run(
            self.rt,
            self._queues,
            workflow,
            args,
            kwargs,
            workflow_id=workflow_id,
            queue=queue,
            queue_key=queue_key,
            queue_priority=queue_priority,
            queue_dedup_key=queue_dedup_key,
            seeds=self._seed_source,
        )
        if not created:
            return self._same_run(run, workflow)
        return WorkflowHandle(self, run.id, created=True)

    def _same_run(self, existing: RunRecord, workflow: WorkflowDef[Any]) -> WorkflowHandle:
        if existing.workflow != workflow.name:
            raise UsageError(
                f"workflow id {existing.id!r} is already used by a {existing.workflow!r} run",
                hint="choose another workflow_id",
            )
        return WorkflowHandle(self, existing.id)

    def handle(self, run_id: str) -> WorkflowHandle:
        self.get_run(run_id)
        return WorkflowHandle(self, run_id)

    def result(self, run_id: str, *, timeout: float | None = None, drive: bool = True) -> Any:
        """Wait for a run to end, running it (and its children) here while ``drive`` is on."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Claim first: a run that is runnable is advanced before its state is read, so
            # the common start-then-result reads the run once, after it has finished.
            worked = drive and self._through_outage(lambda: self.work_once(run_id=run_id))
            run = self._through_outage(lambda: self.get_run(run_id))
            if run.status.terminal:
                return self._outcome(run)
            if worked or (drive and self._through_outage(self.work_once)):
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise ResultTimeout(run_id, timeout or 0.0, run.status.value)
            self._nap(left)

    def _through_outage(self, call: Callable[[], Any]) -> Any:
        """``call()``, waiting out a store fault (a lock, a restart) for up to a lease."""
        try:
            return persist(
                lambda _fault: call(),
                self.clock,
                self.rt.lease_seconds,
                "waiting for the run",
                retry_on=(StoreError,),
            )
        except StoreUnavailable as outage:
            raise StoreError(
                str(outage),
                hint="check the store; the run resumes from its last checkpoint when it is back",
            ) from outage.error

    def _outcome(self, run: RunRecord) -> Any:
        if run.status != RunStatus.COMPLETED:
            raise RunFailed(run.id, run.status.value, error_data(run.error) or None)
        wf = self._workflows.get(run.workflow)
        annotation = return_annotation(wf.fn) if wf is not None else Any
        return self.rt.codec.decode(
            run.result or "null", annotation, where=f"result of workflow {run.workflow!r}"
        )

    def _nap(self, left: float | None) -> None:
        pause = idle_pause(self.store, self.clock, self.poll_interval)
        if getattr(self.clock, "virtual", False):
            wake = self.store.next_wake()
            if wake is not None and wake > self.clock.now():  # jump straight to the timer
                pause = (wake - self.clock.now()).total_seconds()
        elif left is not None:
            pause = min(pause, left)  # ``left`` is real time: it bounds only real waits
        self.clock.sleep(pause)

    # -- executing -----------------------------------------------------------------------------
    def work_once(
        self, run_id: str | None = None, *, only_queues: Sequence[str] | None = None
    ) -> bool:
        """Claim one runnable run and advance it; False when nothing was runnable.

        The claim first dequeues the engine's queues within their limits; with
        ``only_queues`` (``wfkit worker --queue``) only those are dequeued, and only runs on
        them are claimed."""
        return self._work_once(run_id, only_queues, sorted(self._workflows))

    def _work_once(
        self, run_id: str | None, only_queues: Sequence[str] | None, workflows: list[str]
    ) -> bool:
        claimed = self._claims.claim(1, run_id, only_queues, workflows)
        if not claimed:
            return False
        self._claimed.process(*claimed[0])
        return True

    def check_queue_names(self, names: Sequence[str]) -> list[str]:
        """``names`` sorted, each a declared queue (else a UsageError naming the unknown)."""
        return self._claims.check_queue_names(names)

    def wake_orphaned_parents(self) -> list[str]:
        """Wake parents whose child finished while its wake-up note was lost in a crash."""
        return recovery.wake_orphaned_parents(self.rt)

    def recover(self) -> list[str]:
        """Advance every runnable run now, taking over runs whose worker's lease expired."""
        return recovery.recover(self.rt, self._claimed, sorted(self._workflows))

    def run_worker(
        self,
        *,
        stop: threading.Event | None = None,
        concurrency: int = 1,
        idle_interval: float = 0.5,
        on_idle: Callable[[], None] | None = None,
        on_store_error: Callable[[StoreError, float], None] | None = None,
        on_store_back: Callable[[float], None] | None = None,
        only_queues: Sequence[str] | None = None,
    ) -> None:
        """Process runs until ``stop`` is set (a ``wfkit worker`` process runs this).

        ``concurrency`` runs at most are advanced at once, each in a thread of its own; or,
        when a workflow is ``async def`` and the store's commits can be awaited (SQLite,
        memory), claimed by one event loop that runs the async ones as its tasks, their
        checkpoints shared in group commits, and the sync ones in its thread pool
        (:mod:`wfkit.engine.task_lane`). A bug that escapes a run on the loop stops the
        worker and is raised here.

        ``only_queues``: dequeue only those queues and run only runs on them (``wfkit worker
        --queue``); by default every declared queue is dequeued and every run is claimed.

        A store that fails (a database restarting, a lock held too long) does not stop the
        worker: it waits with backoff (up to a minute) and goes on, reconnecting when the
        store is back. ``on_store_error`` hears of each failed look for work (the error, the
        seconds until the next try) and of the first failure an activation or the heartbeat
        meets (those retry on their own, see :mod:`wfkit.engine.core.store_faults`), so an outage
        that only running runs saw is told too; ``on_store_back`` hears how many seconds the
        store was down once it answers again. Without them, both go to the ``wfkit.engine``
        logger.
        """
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")
        if only_queues is not None:
            only_queues = self.check_queue_names(only_queues)
        every = sorted(self._workflows)
        run_worker_loop(
            self.rt,
            has_async=any(wf.is_async for wf in self._workflows.values()),
            claim=lambda limit: self._claims.claim(limit, None, only_queues, every),
            work_once=lambda: self._work_once(None, only_queues, every),
            process_on_loop=self._claimed.process_on_loop,
            schedules=Schedules(self),
            stop=stop or threading.Event(),
            concurrency=concurrency,
            idle_interval=idle_interval,
            on_idle=on_idle,
            on_store_error=on_store_error,
            on_store_back=on_store_back,
        )

    # -- talking to runs -----------------------------------------------------------------------
    def get_run(self, run_id: str) -> RunRecord:
        run = self.store.get_run(check_id(run_id))
        if run is None:
            raise RunNotFound(run_id)
        return run

    def list_runs(
        self,
        *,
        status: RunStatus | str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
        before: tuple[datetime, str] | None = None,
        queue: str | None = None,
    ) -> list[RunRecord]:
        """Runs newest first; ``before`` is the (created_at, id) of the previous page's last
        run (a keyset cursor); ``queue``: only runs started on that queue."""
        if isinstance(status, str):
            status = _parse_status(status)
        return self.store.list_runs(
            status=status, workflow=workflow, limit=limit, before=before, queue=queue
        )

    def count_runs(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        """How many runs there are of each status (statuses with none left out)."""
        return self.store.count_runs(workflow=workflow)

    def operations(self, run_id: str) -> list[OperationRecord]:
        self.get_run(run_id)
        return self.store.operations(run_id)

    def history(self, run_id: str) -> list[HistoryEntry]:
        self.get_run(run_id)
        return self.store.history(run_id)

    def send_event(self, run_id: str, name: str, payload: Any = None) -> None:
        """Deliver an event; it is buffered until the run waits for ``name``."""
        run = self.get_run(run_id)
        check_id(name, "event name")
        if name.startswith("wfkit."):
            raise UsageError(
                f"invalid event name {name!r}",
                hint="use a non-empty name that does not start with 'wfkit.'",
            )
        if run.status.terminal:
            raise InvalidRunState(
                f"run {run_id!r} is {run.status.value}; events are only "
                "delivered to runs that have not finished",
                run_id=run_id,
                status=run.status.value,
                hint="start a new run, or check the id with `wfkit list`",
            )
        text = self.rt.codec.encode(payload, where=f"payload of event {name!r}")
        self.store.add_event(run_id, name, text, self.clock.now())

    def cancel(
        self, run_id: str, *, compensate: bool = True, drive: bool = True, force: bool = False
    ) -> bool:
        """Stop a run; with ``compensate`` its completed steps are undone first.

        Child workflows still running are cancelled first, innermost first, so their work is
        undone before the parent's. Returns True when this call requested the cancellation and
        False when it had been requested already: then nothing is written (a second request
        would only add a line to the history) and the first request's ``compensate`` stands,
        so repeating a cancel, e.g. from a retried script, is harmless.

        ``force`` ends the run ``CANCELLED`` at once, in the store, without compensation and
        without waiting for a worker (:func:`wfkit.engine.interventions.force_cancel`); it
        always returns True.
        """
        run = self.get_run(run_id)
        if run.status.terminal:
            raise InvalidRunState(
                f"run {run_id!r} already ended {run.status.value}",
                run_id=run_id,
                status=run.status.value,
                hint="only runs that have not finished can be cancelled",
            )
        if force:
            force_cancel(self.store, self.clock, run)
            return True
        requested = not run.cancel_requested
        if requested:
            for child in self.store.list_runs(parent_id=run_id):
                if not child.status.terminal:
                    self.cancel(child.id, compensate=compensate, drive=drive)
            now = self.clock.now()
            changes: dict[str, Any] = {
                "cancel_requested": True,
                "compensate_on_cancel": compensate,
                "wake_at": now,
                "updated_at": now,
            }
            if run.status == RunStatus.QUEUED:
                # A queued run is cancelled at once, without waiting for (or taking) a slot
                # of its queue: it leaves the queue (passed over by dequeues) as PENDING.
                changes["status"] = RunStatus.PENDING
            try:  # two cancels at the same moment: only the first one writes
                self.store.commit(
                    run_id,
                    Checkpoint(
                        run=changes,
                        history=[
                            he.run_entry(run_id, now, "cancel_requested", compensate=compensate)
                        ],
                        unless_cancelled=True,
                    ),
                )
            except CancelRequested:
                requested = False
        if drive and run.workflow in self._workflows:
            self.work_once(run_id=run_id)
        return requested

    # -- pause and resume (wfkit.engine.pausing) ----------------------------------------------
    def pause(self, run_id: str) -> bool:
        """Pause a run that has not finished: no step of it starts until :meth:`resume`; a
        step already running finishes and is recorded. False when it was paused already."""
        return pausing.pause_run(self.store, self.get_run(run_id), self.clock.now())

    def resume(self, run_id: str) -> None:
        """Lift a run's pause (an :class:`InvalidRunState` when it is not paused)."""
        pausing.resume_run(self.store, self.get_run(run_id), self.clock.now())

    def pause_workflow(self, name: str) -> bool:
        """Pause every run of workflow ``name``, those started later too (they are created
        and wait); held in the store, across workers and restarts. False when it was
        paused already."""
        return pausing.pause_workflow(self.store, name, self.clock.now())

    def resume_workflow(self, name: str) -> None:
        """Lift a workflow's pause (a :class:`UsageError` when it is not paused)."""
        pausing.resume_workflow(self.store, name, self.clock.now())

    def paused_workflows(self) -> dict[str, datetime]:
        """The paused workflows, by name, with when each was paused."""
        return self.store.paused_workflows()

    def fork_plan(self, run_id: str, from_step: int | None = None) -> ForkPlan:
        """What :meth:`fork` would keep and run again, changing nothing (``wfkit fork
        --dry-run``). ``from_step`` None: the run's first operation that did not complete."""
        run = self.get_run(run_id)
        return plan_fork(run, self.store.operations(run_id), from_step)

    def fork(
        self,
        run_id: str,
        from_step: int | None = None,
        *,
        args: Sequence[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        workflow_id: str | None = None,
    ) -> WorkflowHandle:
        """A new run that keeps ``run_id``'s results before operation ``from_step`` and
        executes from there on the current code (see :mod:`wfkit.engine.fork`); the original
        is left as it is. ``args``/``kwargs`` give it another input (its workflow must be
        registered to bind them); ``workflow_id`` names it (default ``<run>-fork-<hex>``)."""
        run = self.get_run(run_id)
        plan = plan_fork(run, self.store.operations(run_id), from_step)
        wf = self._workflows.get(run.workflow)
        new_id = make_fork(
            self.rt, run, plan, wf, args=args, kwargs=kwargs, workflow_id=workflow_id
        )
        return WorkflowHandle(self, new_id, created=True)

    def retry(
        self,
        run_id: str,
        *,
        args: Sequence[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Resume a FAILED run from its checkpoints (a failed compensation is tried again).

        With ``args``/``kwargs`` (Forge's manual intervention) the run is resumed *forward*
        with that new input bound as the workflow's input: recorded steps keep their recorded
        results, the failed step (and its compensations' records) is discarded, and it and
        every later step run with the new input. Its workflow must be registered to bind the
        input; a run some of whose compensations already completed cannot roll forward (an
        :class:`InvalidRunState`). Nothing is written when the input does not bind.
        """
        run = self.get_run(run_id)
        require_failed(run, "only FAILED runs can be retried")
        if args is not None or kwargs is not None:
            wf = self._workflows.get(run.workflow)
            if wf is None:
                raise UsageError(
                    f"workflow {run.workflow!r} is not loaded here: the new input cannot be bound",
                    hint="load the module that defines it (wfkit retry --module)",
                )
            retry_with_input(self.rt, wf, run, tuple(args or ()), dict(kwargs or {}))
            return
        retry_from_checkpoints(self.store, self.clock, run)

    def skip_step(self, run_id: str, step: str, result: Any = None) -> None:
        """Record a result by hand for a failed step (or compensation) of a FAILED run."""
        run = self.get_run(run_id)
        require_failed(run, "skip-step only repairs FAILED runs")
        skip_failed_step(self.rt, run, step, result)

    # -- version gates -------------------------------------------------------------------------
    def versions(self, workflow: str | None = None) -> list[VersionGroup]:
        """Runs in flight per workflow, code version and recorded version-gate markers, the
        oldest first in each workflow: what still runs on old code (:mod:`wfkit.engine.versions`)."""
        return version_groups(self.store, workflow)

    def patches(
        self,
        gates: Iterable[tuple[str, str]] = (),
        *,
        workflows: Collection[str] | None = None,
    ) -> list[GateReport]:
        """Per version gate (``ctx.patched("id")``): how many runs in flight recorded its
        marker, how many may still replay its old branch, and whether the old branch or the
        gate may go (:mod:`wfkit.engine.patches` has the rules). Every gate with a marker in
        the store is reported; ``gates`` adds ``(workflow, patch id)`` pairs no run may have
        reached yet (from the code); ``workflows`` keeps only the gates of those workflows."""
        return gate_reports(self.store, gates, workflows=workflows)

    # -- retention ---------------------------------------------------------------------------
    def prune(
        self,
        older_than: timedelta | float,
        *,
        statuses: Collection[RunStatus | str] = PRUNED_BY_DEFAULT,
        dry_run: bool = False,
        batch: int = 500,
    ) -> list[str]:
        """Delete runs that finished more than ``older_than`` ago (seconds or a timedelta),
        with their operations, history and events; return their ids, oldest finish first.

        Only finished runs, and by default not FAILED ones (they wait for a person: pass
        ``statuses`` to include them). A run whose parent or child is still live is kept.
        ``dry_run`` returns what would be deleted. Deletes go ``batch`` runs per
        transaction, so workers are never held up for long.
        """
        return prune_runs(
            self.store,
            self.clock,
            older_than,
            statuses=statuses,
            dry_run=dry_run,
            batch=batch,
        )

    def close(self) -> None:
        self._heartbeat.stop()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_status(value: str) -> RunStatus:
    try:
        return RunStatus(value.upper())
    except ValueError:
        raise UsageError(
            f"unknown status {value!r}", hint="one of " + ", ".join(s.value for s in RunStatus)
        ) from None
