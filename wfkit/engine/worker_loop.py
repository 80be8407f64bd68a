"""The worker loop behind :meth:`Engine.run_worker`: threads that claim and advance runs until
told to stop, the schedules fired on the way, and the backoff through a failing store.

Kept apart from :mod:`wfkit.engine.engine`, whose ``run_worker`` checks its arguments and hands
this module the engine's parts (its claim, its claimed-run processing, its schedules), so the
engine module keeps to what an engine is asked; how runs are then advanced, a thread per run
or one event loop, is :mod:`wfkit.engine.claimed` and :mod:`wfkit.engine.task_lane`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from wfkit.engine.clock import Clock
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.schedule_control import Schedules
from wfkit.engine.store.base import Store, async_commit
from wfkit.engine.task_lane import Claim, Process, TaskLane
from wfkit.errors import StoreError

_log = logging.getLogger("wfkit.engine")
WORKER_BACKOFF_MAX = 60.0  # seconds between a worker's looks at a store that keeps failing
SCHEDULE_EVERY = timedelta(seconds=1)  # how often a worker looks for due schedule ticks


def run_worker_loop(
    rt: Runtime,
    *,
    has_async: bool,
    claim: Claim,
    work_once: Callable[[], bool],
    process_on_loop: Process,
    schedules: Schedules,
    stop: threading.Event,
    concurrency: int,
    idle_interval: float,
    on_idle: Callable[[], None] | None,
    on_store_error: Callable[[StoreError, float], None] | None,
    on_store_back: Callable[[float], None] | None,
) -> None:
    """Process runs until ``stop`` is set (see :meth:`wfkit.engine.engine.Engine.run_worker`).

    ``claim`` claims up to a number of runs for the event loop; ``work_once`` claims one run
    and advances it in the calling thread (False when nothing was runnable); ``has_async``:
    some registered workflow is ``async def``."""
    store, clock = rt.store, rt.clock
    health = rt.health
    fired_at: list[datetime] = []  # when this worker last fired its schedules
    # With an async workflow and a store whose commits can be awaited, the worker's
    # runs are claimed and advanced by one event loop (wfkit.engine.task_lane): async
    # runs as its tasks, sync runs in its thread pool, in one claim order; else a
    # thread per run in flight claims and advances its own.
    commit_async = async_commit(store)
    lane = (
        TaskLane(
            capacity=concurrency,
            claim=claim,
            process=process_on_loop,
            commit=store.commit,
            commit_async=commit_async,
            pause=lambda: idle_pause(store, clock, idle_interval),
            clock=clock,
            health=health,
            stop=stop,
            backoff_max=WORKER_BACKOFF_MAX,
        )
        if commit_async is not None and has_async
        else None
    )

    def fire_schedules() -> None:
        # About once a second, from one thread: a tick is late by at most that (or by
        # idle_interval when it is longer), never started twice (see wfkit.engine.scheduler).
        now = clock.now()
        if not fired_at or now - fired_at[0] >= SCHEDULE_EVERY:
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
                if lane is None and work_once():
                    backoff = 0.0
                    continue
                if on_idle is not None and (lane is None or lane.idle):
                    on_idle()
                # (with a loop, this thread only fires schedules: no timer of a run
                # to wake up for)
                pause = idle_pause(store, clock, idle_interval) if lane is None else idle_interval
                backoff = 0.0
            except StoreError as exc:
                backoff = min(max(backoff * 2, 0.5), WORKER_BACKOFF_MAX)
                pause = backoff
                health.failed(exc, pause, clock.now(), always=True)
            clock.wait(stop, pause)

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


def idle_pause(store: Store, clock: Clock, interval: float) -> float:
    """How long an idle loop may sleep: until the next timer, at most ``interval``.

    A wake time already past belongs to a run this engine could not claim (another
    worker holds it, or this engine does not know its workflow): it is no reason to
    wake early, or an idle worker would spin while another one works.
    """
    wake = store.next_wake()
    if wake is None:
        return interval
    until_wake = (wake - clock.now()).total_seconds()
    return interval if until_wake <= 0 else min(interval, until_wake)


def _log_store_error(error: StoreError, pause: float) -> None:
    _log.warning("store error: %s; trying again in %.1fs", error, pause)


def _log_store_back(seconds: float) -> None:
    _log.warning("store available again after %.1fs", seconds)
