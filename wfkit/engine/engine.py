"""The engine: start, drive, inspect and repair durable workflow runs.

``Engine("sqlite:///wfkit.db")`` is all a single process needs: ``handle.result()`` runs the
workflow in the calling thread (children too) until it finishes. ``wfkit worker`` processes run
:meth:`Engine.run_worker` to share the work; leases keep two workers off one run, and a crashed
worker's runs are taken over once its lease expires.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from wfkit.engine import pausing
from wfkit.engine.binding import return_annotation
from wfkit.engine.claimed import ClaimedRuns
from wfkit.engine.clock import Clock, SystemClock
from wfkit.engine.codec import JsonCodec
from wfkit.engine.codec_checks import DEFAULT_MAX_PAYLOAD_BYTES
from wfkit.engine.core import history_entries as he
from wfkit.engine.core.failures import error_data
from wfkit.engine.core.runtime import Interceptor, Runtime
from wfkit.engine.core.starting import decode_input, encode_input, new_run
from wfkit.engine.core.store_faults import StoreUnavailable, persist
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.engine_options import MIN_LEASE_SECONDS as MIN_LEASE_SECONDS
from wfkit.engine.engine_options import check_engine_options
from wfkit.engine.fork import ForkPlan, default_fork_id, fork_records, plan_fork
from wfkit.engine.ids import MAX_ID_LENGTH, check_id
from wfkit.engine.interventions import (
    force_cancel,
    retry_from_checkpoints,
    retry_with_input,
    skip_failed_step,
)
from wfkit.engine.patches import GateReport, gate_reports
from wfkit.engine.progress import Observer, guarded
from wfkit.engine.queues import DuplicateQueued, Queue, QueueDeduplicated, check_enqueue
from wfkit.engine.schedule_control import Schedules
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store import DEFAULT_STORE_URL, open_store
from wfkit.engine.store.base import (
    CancelRequested,
    Checkpoint,
    HistoryEntry,
    OperationRecord,
    RunRecord,
    Store,
    async_commit,
    finished_statuses,
)
from wfkit.engine.task_lane import TaskLane
from wfkit.engine.versions import VersionGroup, version_groups
from wfkit.engine.worker import Heartbeat
from wfkit.errors import (
    DefinitionError,
    InvalidRunState,
    ResultTimeout,
    RunFailed,
    RunNotFound,
    StoreError,
    UsageError,
)

_log = logging.getLogger("wfkit.engine")
_WORKER_BACKOFF_MAX = 60.0  # seconds between a worker's looks at a store that keeps failing
_SCHEDULE_EVERY = timedelta(seconds=1)
# How often a busy engine dequeues at the least (it also does when nothing else is claimable).
_QUEUE_PASS_EVERY = timedelta(seconds=0.1)  # how often a worker looks for due schedule ticks

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
        )
        if max_payload_bytes is not None and (
            isinstance(max_payload_bytes, bool)
            or not isinstance(max_payload_bytes, int)
            or max_payload_bytes < 1
        ):
            raise UsageError(
                f"max_payload_bytes must be a positive int or None, got {max_payload_bytes!r}",
                hint="e.g. 4 * 1024 * 1024 (4 MiB)",
            )
        self.store: Store = _open(store)
        self.clock: Clock = clock or SystemClock()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_interval = poll_interval
        self._workflows: dict[str, WorkflowDef[Any]] = {}
        self._queues: dict[str, Queue] = {}
        self._dequeued_at: datetime | None = None  # this engine's last dequeue pass
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
        self.register(*workflows)
        for queue in queues:
            self.register_queue(queue)

    # -- definitions ---------------------------------------------------------------------------
    def register(self, *workflows: WorkflowDef[Any]) -> None:
        """Make workflows runnable by this engine (``start`` registers its workflow too)."""
        for wf in workflows:
            if not isinstance(wf, WorkflowDef):
                raise DefinitionError(
                    f"expected a @workflow, got {type(wf).__name__}",
                    hint="decorate the function with @wfkit.workflow",
                )
            known = self._workflows.get(wf.name)
            if known is not None and known.fn is not wf.fn:
                raise DefinitionError(
                    f"two different workflows are named {wf.name!r} "
                    f"({known.fn.__module__}.{known.fn.__qualname__} and "
                    f"{wf.fn.__module__}.{wf.fn.__qualname__})",
                    hint="give one of them @workflow(name=...)",
                )
            self._check_schedules(wf)
            if wf.queue is not None:
                self.register_queue(wf.queue)
            self._workflows[wf.name] = wf

    def _check_schedules(self, wf: WorkflowDef[Any]) -> None:
        """A schedule's input must bind now, not at its first tick in a worker; its name must
        be its own among the engine's schedules (the name keys its state in the store)."""
        taken = {
            name: other.name for other in self._workflows.values() for name, _ in other.schedules
        }
        for name, spec in wf.schedules:
            if taken.get(name, wf.name) != wf.name:
                raise DefinitionError(
                    f"workflows {taken[name]!r} and {wf.name!r} both have a schedule named {name!r}",
                    hint="give one of them Cron/Every/At(..., name=...)",
                )
            try:
                encoded = encode_input(self.rt, wf, tuple(spec.args), dict(spec.kwargs))
                decode_input(self.rt, wf, encoded)
            except UsageError as exc:
                raise DefinitionError(
                    f"schedule {name!r} of workflow {wf.name!r}: its input does not fit: {exc}",
                    hint="give the schedule args=/kwargs= the workflow takes",
                ) from None

    def register_queue(self, queue: Queue) -> None:
        """Declare a queue: runs started on it wait (QUEUED) until a worker of this store
        dequeues them within its limits (:mod:`wfkit.engine.queues`)."""
        if not isinstance(queue, Queue):
            raise DefinitionError(
                f"expected a wfkit.Queue, got {type(queue).__name__}",
                hint="Engine(..., queues=[Queue('emails', concurrency=5)])",
            )
        known = self._queues.get(queue.name)
        if known is not None and known != queue:
            raise DefinitionError(
                f"queue {queue.name!r} is declared twice with different limits",
                hint="declare each queue once",
            )
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
        if workflow_id is not None:
            check_id(workflow_id, "workflow_id")
        entry = check_enqueue(
            self._queues,
            workflow.queue if queue is None else queue,
            queue_key,
            queue_priority,
            queue_dedup_key,
        )
        now = self.clock.now()
        try:
            # Without workflow_id, the workflow's own workflow_id template or a UUID names it.
            run, _ = new_run(
                self.rt,
                workflow,
                args,
                kwargs,
                workflow_id,
                now,
                seed=self._seed_source.getrandbits(63),
            )
            if workflow_id is None and workflow.run_id_template is not None:
                check_id(
                    run.id,
                    f"run id made by the workflow_id of workflow {workflow.name!r}",
                    hint="make the workflow_id give at most "
                    f"{MAX_ID_LENGTH} printable characters for this input, or pass "
                    "an explicit id (workflow_id=... / wfkit run --id)",
                )
        except Exception:
            # Starting an existing run again needs no input (`wfkit run --id ID` resumes it):
            # looked up only here, so the common start costs one statement less.
            existing = None if workflow_id is None else self.store.get_run(workflow_id)
            if existing is None:
                raise
            return self._same_run(existing, workflow)
        # The input is stored once, in the run; its history line does not repeat it.
        history = [
            he.run_entry(
                run.id,
                now,
                "run_started",
                workflow=workflow.name,
                version=workflow.version,
                seed=run.seed,
            )
        ]
        if entry is None:
            stored, created = self.store.create_run(run, history)
        else:
            run.status = RunStatus.QUEUED
            try:
                stored, created = self.store.create_run(run, history, queue=entry)
            except DuplicateQueued as dup:
                raise QueueDeduplicated(dup.queue, dup.dedup_key, dup.run_id) from None
        if not created:
            return self._same_run(stored, workflow)
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
        claimed = self._claim(1, run_id, only_queues, workflows)
        if not claimed:
            return False
        self._claimed.process(*claimed[0])
        return True

    def _claim(
        self,
        limit: int,
        run_id: str | None,
        only_queues: Sequence[str] | None,
        workflows: list[str],
    ) -> list[tuple[RunRecord, datetime]]:
        """Up to ``limit`` runnable runs of ``workflows``, leased to this engine, each with
        the time its claim was sent (when its lease began)."""
        now = self.clock.now()
        until = now + timedelta(seconds=self.rt.lease_seconds)

        def claim(queues: Sequence[Queue] = ()) -> list[RunRecord]:
            return self.store.claim(
                self.owner,
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
            # at least every ``_QUEUE_PASS_EVERY`` while there is (so a worker kept busy by
            # runs on no queue still gives the queues their turn). A pass dequeues as many
            # runs as the limits allow, so most claims need none: a pass costs a few
            # statements.
            since = self._dequeued_at
            claimed = []
            if since is not None and now - since < _QUEUE_PASS_EVERY:
                claimed = claim()
            if not claimed:
                self._dequeued_at = now
                claimed = claim(self._dequeued_by_me(only_queues))
        self.rt.health.answered(now)
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

    def wake_orphaned_parents(self) -> list[str]:
        """Wake parents whose child finished while its wake-up note was lost in a crash."""
        from wfkit.engine.core.waits import CHILD_EVENT

        woken = []
        for parent in self.store.list_runs(status=RunStatus.WAITING):
            for op in self.store.operations(parent.id):
                if op.kind != OpKind.CHILD or op.status != OpStatus.STARTED:
                    continue
                child = self.store.get_run(json.loads(op.result or "null"))
                if child is not None and child.status.terminal:
                    self.store.add_event(
                        parent.id, CHILD_EVENT.format(seq=op.seq), "null", self.clock.now()
                    )
                    woken.append(parent.id)
        return sorted(set(woken))

    def recover(self) -> list[str]:
        """Advance every runnable run now, taking over runs whose worker's lease expired."""
        self.wake_orphaned_parents()
        done: list[str] = []
        while True:
            now = self.clock.now()
            claimed = self.store.claim(
                self.owner,
                now,
                now + timedelta(seconds=self.rt.lease_seconds),
                workflows=sorted(self._workflows),
            )
            if not claimed:
                return done
            self._claimed.process(claimed[0], now)
            done.append(claimed[0].id)

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
        stop = stop or threading.Event()
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")
        if only_queues is not None:
            only_queues = self.check_queue_names(only_queues)
        health = self.rt.health
        schedules = Schedules(self)
        fired_at: list[datetime] = []  # when this worker last fired its schedules
        # With an async workflow and a store whose commits can be awaited, the worker's
        # runs are claimed and advanced by one event loop (wfkit.engine.task_lane): async
        # runs as its tasks, sync runs in its thread pool, in one claim order; else a
        # thread per run in flight claims and advances its own.
        commit_async = async_commit(self.store)
        every = sorted(self._workflows)
        lane = (
            TaskLane(
                capacity=concurrency,
                claim=lambda limit: self._claim(limit, None, only_queues, every),
                process=self._claimed.process_on_loop,
                commit=self.store.commit,
                commit_async=commit_async,
                pause=lambda: self._pause(idle_interval),
                clock=self.clock,
                health=health,
                stop=stop,
                backoff_max=_WORKER_BACKOFF_MAX,
            )
            if commit_async is not None and any(wf.is_async for wf in self._workflows.values())
            else None
        )

        def fire_schedules() -> None:
            # About once a second, from one thread: a tick is late by at most that (or by
            # idle_interval when it is longer), never started twice (see wfkit.engine.scheduler).
            now = self.clock.now()
            if not fired_at or now - fired_at[0] >= _SCHEDULE_EVERY:
                fired_at[:] = [now]
                schedules.fire()

        def loop(fires: bool = False) -> None:
            backoff = 0.0
            while not stop.is_set():
                try:
                    if fires:
                        fire_schedules()
                    # The claim tells the store's health its answer: the run it advanced
                    # may have met (and been released by) an outage since.
                    if lane is None and self._work_once(None, only_queues, every):
                        backoff = 0.0
                        continue
                    if on_idle is not None and (lane is None or lane.idle):
                        on_idle()
                    # (with a loop, this thread only fires schedules: no timer of a run
                    # to wake up for)
                    pause = self._pause(idle_interval) if lane is None else idle_interval
                    backoff = 0.0
                except StoreError as exc:
                    backoff = min(max(backoff * 2, 0.5), _WORKER_BACKOFF_MAX)
                    pause = backoff
                    health.failed(exc, pause, self.clock.now(), always=True)
                self.clock.wait(stop, pause)

        health.on_error = on_store_error or _log_store_error
        health.on_back = on_store_back or _log_store_back
        threads = [
            threading.Thread(target=loop, name=f"wfkit-worker-{i}", daemon=True)
            for i in range(concurrency - 1 if lane is None else 0)
        ]
        if lane is not None:
            threads.append(threading.Thread(target=lane.run, name="wfkit-worker-loop", daemon=True))
        for t in threads:
            t.start()
        try:
            loop(fires=bool(schedules.declared()))
        finally:
            stop.set()
            for t in threads:
                t.join()
            health.on_error = health.on_back = None
        if lane is not None and lane.error is not None:
            raise lane.error

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
        input_text = None
        if args is not None or kwargs is not None:
            if wf is None:
                raise UsageError(
                    f"workflow {run.workflow!r} is not loaded here: its new input cannot be bound",
                    hint="load the module that defines it, or fork with the recorded input",
                )
            input_text = encode_input(self.rt, wf, tuple(args or ()), dict(kwargs or {}))
            decode_input(self.rt, wf, input_text)
        new_id = workflow_id if workflow_id is not None else default_fork_id(run_id)
        record, started, copy = fork_records(
            run,
            plan,
            self.store.history(run_id),
            new_id=new_id,
            input_text=input_text,
            version=wf.version if wf is not None else run.version,
            now=self.clock.now(),
        )
        # Created leased to this engine, so no worker claims it before its copied operations
        # are in: a run claimed without them would run its first steps again.
        now = self.clock.now()
        held = replace(record, lease_owner=self.owner, lease_expires_at=now + timedelta(seconds=60))
        _, created = self.store.create_run(held, started)
        if not created:
            raise UsageError(
                f"a run named {new_id!r} exists already", hint="choose another id for the fork"
            )
        self.store.commit(
            new_id, replace(copy, release_lease=True), lease_owner=self.owner, now=now
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
        if run.status != RunStatus.FAILED:
            raise InvalidRunState(
                f"run {run_id!r} is {run.status.value}, not FAILED",
                run_id=run_id,
                status=run.status.value,
                hint="only FAILED runs can be retried",
            )
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
        if run.status != RunStatus.FAILED:
            raise InvalidRunState(
                f"run {run_id!r} is {run.status.value}, not FAILED",
                run_id=run_id,
                status=run.status.value,
                hint="skip-step only repairs FAILED runs",
            )
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
        from wfkit.engine.core.waits import to_seconds

        seconds = to_seconds(older_than, "older_than")
        if seconds < 0:
            raise UsageError(
                f"older_than must not be negative, got {older_than!r}",
                hint="pass how long ago runs must have finished, e.g. 30 days",
            )
        try:
            wanted = finished_statuses(statuses)
        except ValueError as exc:
            raise UsageError(
                str(exc), hint="use COMPLETED, COMPENSATED, CANCELLED or FAILED"
            ) from None
        cutoff = prune_cutoff(self.clock.now(), seconds, older_than)
        candidates = self.store.prunable_runs(cutoff, wanted)
        if dry_run:
            return candidates
        deleted: list[str] = []
        for start in range(0, len(candidates), max(batch, 1)):
            deleted += self.store.delete_runs(
                candidates[start : start + max(batch, 1)], cutoff, wanted
            )
        return deleted

    def close(self) -> None:
        self._heartbeat.stop()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _log_store_error(error: StoreError, pause: float) -> None:
    _log.warning("store error: %s; trying again in %.1fs", error, pause)


def _log_store_back(seconds: float) -> None:
    _log.warning("store available again after %.1fs", seconds)


def prune_cutoff(now: datetime, seconds: float, shown: Any) -> datetime:
    """``now - seconds``, or a UsageError when that is before the year 1 (an OverflowError)."""
    try:
        return now - timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise UsageError(
            f"older_than {shown!r} reaches back before the year 1",
            hint="pass how long ago runs must have finished, e.g. 30 days",
        ) from None


def _open(store: Any) -> Store:
    """A store URL, a path (an SQLite file) or a store object; anything else is a UsageError
    now rather than an AttributeError at the first run."""
    if isinstance(store, str):
        return open_store(store)
    if isinstance(store, os.PathLike):
        path = os.path.abspath(os.fspath(store))
        if "?" in path:  # the URL would read the rest as options
            raise UsageError(
                f"cannot use {path!r} as an SQLite store: '?' in a path",
                hint="rename the file, or pass a sqlite:/// URL",
            )
        return open_store(f"sqlite:///{path}")
    if all(callable(getattr(store, name, None)) for name in ("commit", "claim", "get_run")):
        return cast(Store, store)
    raise UsageError(
        f"Engine needs a store URL, a path or a Store, got {store!r}",
        hint='e.g. Engine("sqlite:///wfkit.db") or Engine("postgresql://host/db")',
    )


def _parse_status(value: str) -> RunStatus:
    try:
        return RunStatus(value.upper())
    except ValueError:
        raise UsageError(
            f"unknown status {value!r}", hint="one of " + ", ".join(s.value for s in RunStatus)
        ) from None
