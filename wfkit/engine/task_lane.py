"""A worker's event loop: runs of async workflows as tasks, many in flight, no thread each.

A thread per run in flight costs more than the step it runs: with 32 runs, each checkpoint's
hand-over between threads under the GIL took most of a worker's time (docs/performance.md).
Here one thread runs an event loop; each claimed run of an ``async def`` workflow is a task
on it, its async steps are awaited there, and its checkpoints go to the store's group commit
through :meth:`~wfkit.engine.store.base.CommitsAsync.commit_async`: every run whose step
finished in one turn of the loop is acknowledged by one commit. Sync steps called from async
workflows run in the loop's thread pool, as ``asyncio.to_thread`` runs them.

The lane is the worker's only claimer then: it claims as many runs as it has free slots (of
``concurrency``) in one claim, in the store's claim order whatever their kind; a run of a sync
workflow goes to the loop's thread pool (its body blocks), with the thread-per-run code. It
claims again as soon as a run leaves, and otherwise looks for work every ``idle_interval``
like the threads do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from wfkit.engine.clock import Clock
from wfkit.engine.core.store_faults import StoreHealth
from wfkit.engine.store.base import RunRecord
from wfkit.errors import StoreError

Claim = Callable[[int], list[tuple[RunRecord, datetime]]]
Write = Callable[..., Awaitable[bool]]  # a checkpoint's commit, as the loop's runs await it
Process = Callable[[RunRecord, datetime, Write], Awaitable[None]]


class TaskLane:
    def __init__(
        self,
        *,
        capacity: int,
        claim: Claim,
        process: Process,
        commit: Callable[..., bool],
        commit_async: Write,
        pause: Callable[[], float],
        clock: Clock,
        health: StoreHealth,
        stop: threading.Event,
        backoff_max: float,
    ) -> None:
        self._capacity = capacity
        self._claim = claim
        self._process = process
        self._commit = commit  # the store's commit and commit_async (see _write)
        self._commit_async = commit_async
        self._pause = pause
        self._clock = clock
        self._health = health
        self._stop = stop
        self._backoff_max = backoff_max
        self._running: set[asyncio.Task[None]] = set()
        self._found_nothing = False
        self.error: BaseException | None = None  # what ended the lane, for the worker to raise

    async def _write(self, *args: Any, **kwargs: Any) -> bool:
        """How the loop's runs write a checkpoint: through the group commit when other runs
        are in flight to share it, else at once (waiting a turn of the loop for company
        that cannot come would only add to a lone run's step)."""
        if len(self._running) <= 1:
            return self._commit(*args, **kwargs)
        return await self._commit_async(*args, **kwargs)

    @property
    def idle(self) -> bool:
        """No run in flight here and the last look found none."""
        return self._found_nothing and not self._running

    def run(self) -> None:
        """The lane's thread: until ``stop`` is set; runs in flight are let finish."""
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the worker's main thread, which raises it
            self.error = exc
            self._stop.set()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        # Sync steps and the rare endings run in threads: enough that a slow sync step in
        # every run in flight does not queue behind the others (asyncio's default is 6 here).
        pool = ThreadPoolExecutor(
            max_workers=max(8, 2 * self._capacity), thread_name_prefix="wfkit-lane"
        )
        loop.set_default_executor(pool)
        try:
            await self._serve()
        finally:
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            pool.shutdown(wait=True)

    async def _serve(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            wanted = self._capacity - len(self._running)
            claimed: list[tuple[RunRecord, datetime]] = []
            try:
                if wanted:
                    claimed = self._claim(wanted)
                backoff = 0.0
            except StoreError as exc:
                backoff = min(max(backoff * 2, 0.5), self._backoff_max)
                self._health.failed(exc, backoff, self._clock.now(), always=True)
            for run, claimed_at in claimed:
                task = asyncio.get_running_loop().create_task(self._one(run, claimed_at))
                self._running.add(task)
            self._found_nothing = wanted > len(claimed)
            await self._wait(backoff)

    async def _wait(self, backoff: float) -> None:
        """Until a run leaves (a slot to fill), or it is time to look for work again."""
        if backoff:
            await asyncio.to_thread(self._clock.wait, self._stop, backoff)
            return
        if not self._found_nothing and self._running:
            # Every slot is busy: the next claim is due when a run leaves.
            await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
            return
        pause = self._pause()
        if self._running:
            await asyncio.wait(self._running, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
        else:  # the clock's own wait: a virtual clock moves instead (tests)
            await asyncio.to_thread(self._clock.wait, self._stop, pause)

    async def _one(self, run: RunRecord, claimed_at: datetime) -> None:
        try:
            await self._process(run, claimed_at, self._write)
        except BaseException as exc:
            # A bug or an interrupt, not a store fault (those are handled by processing):
            # the worker stops and raises it, as a worker thread's error would end the worker.
            if self.error is None:
                self.error = exc
            self._stop.set()
        finally:
            self._running.discard(asyncio.current_task())
