"""A worker's event loop (wfkit.engine.task_lane): runs of async workflows are tasks on one
thread, many in flight, their checkpoints in shared group commits; sync workflows keep a
thread each; both share ``concurrency``; and what a run can meet (a failure and its
compensation, a durable sleep, a cancel, a pause, a crashed worker's run) ends as it does in
a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.engine import Engine
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Checkpoint
from wfkit.engine.store.sqlite import SqliteStore


class Tracker:
    """What the steps saw: the threads they ran on, and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.threads: set[str] = set()
        self.undone: list[str] = []

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.threads.add(threading.current_thread().name)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


SEEN = Tracker()


@pytest.fixture(autouse=True)
def fresh_tracker() -> Iterator[None]:
    global SEEN
    SEEN = Tracker()
    yield


@step
async def hop(i: int) -> int:
    SEEN.enter()
    try:
        await asyncio.sleep(0.02)
    finally:
        SEEN.leave()
    return i + 1


@step
def block(i: int) -> int:
    SEEN.enter()
    try:
        time.sleep(0.02)
    finally:
        SEEN.leave()
    return i + 1


@workflow(name="lane-async")
async def three_hops(ctx: Context, start: int) -> int:
    value = start
    for _ in range(3):
        value = await ctx.step(hop, value)
    return value


@workflow(name="lane-sync")
def three_blocks(ctx: Context, start: int) -> int:
    value = start
    for _ in range(3):
        value = ctx.step(block, value)
    return value


@step
async def book(item: str) -> str:
    return f"booked {item}"


@book.compensation
async def unbook(item: str, result: str) -> None:
    SEEN.undone.append(item)


@step
async def refuse(item: str) -> str:
    raise ValueError(f"no {item}")


@workflow(name="lane-saga")
async def saga(ctx: Context, item: str) -> str:
    await ctx.step(book, item)
    return await ctx.step(refuse, item, retry=Retry(attempts=1))


@workflow(name="lane-sleeper")
async def sleeper(ctx: Context) -> str:
    await ctx.step(book, "before")
    await ctx.sleep(0.3)  # parks the run (longer than the inline wait)
    return await ctx.step(book, "after")


@step
async def linger(item: str) -> str:
    await asyncio.sleep(0.05)
    return item


@linger.compensation
async def unlinger(item: str, result: str) -> None:
    SEEN.undone.append(item)


@workflow(name="lane-long")
async def long_one(ctx: Context, n: int) -> int:
    for k in range(n):
        await ctx.step(linger, f"s{k}")
    return n


@workflow(name="lane-kid")
async def kid(ctx: Context, n: int) -> int:
    return await ctx.step(hop, n)


@workflow(name="lane-waits")
async def waits(ctx: Context, n: int) -> int:
    """A short inline sleep, an event sent from outside, a child: each wait's checkpoint is
    awaited on the loop like a step's."""
    value = await ctx.step(hop, n)
    await ctx.sleep(0.01)
    bonus = await ctx.wait_for_event("bonus", timeout=30)
    return await ctx.child(kid, value + bonus)


class CountingStore(SqliteStore):
    """SQLite with the size of each group commit written down."""

    batches: list[int]

    def _commit_batch(self, batch: Any) -> Any:
        self.batches.append(len(batch))
        return super()._commit_batch(batch)


def work_until_done(engine: Engine, ids: list[str], concurrency: int, timeout: float = 20) -> None:
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(engine.get_run(i).status.terminal for i in ids):
                break
            time.sleep(0.02)
        stop.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    engine.run_worker(stop=stop, concurrency=concurrency, idle_interval=0.02)
    watcher.join()


def test_async_runs_are_tasks_on_one_thread_with_shared_commits(tmp_path: Path) -> None:
    store = CountingStore(f"sqlite:///{tmp_path}/lane.db")
    store.batches = []
    engine = Engine(store, workflows=[three_hops])
    ids = [engine.start(three_hops, n, workflow_id=f"r{n}").id for n in range(16)]
    work_until_done(engine, ids, concurrency=8)
    assert [engine.get_run(i).status for i in ids] == [RunStatus.COMPLETED] * 16
    assert [engine.result(i) for i in ids] == [n + 3 for n in range(16)]
    assert SEEN.threads == {"wfkit-worker-loop"}  # no thread per run
    assert SEEN.most == 8  # eight in flight at once, never more
    # 16 runs x (3 steps + completion) checkpoints, most shared with other runs
    assert sum(store.batches) >= 16 * 4 and max(store.batches) > 1
    engine.close()


def test_sync_and_async_runs_share_the_concurrency(tmp_path: Path) -> None:
    engine = Engine(f"sqlite:///{tmp_path}/mixed.db", workflows=[three_hops, three_blocks])
    ids = [engine.start(three_hops, n).id for n in range(8)]
    ids += [engine.start(three_blocks, n).id for n in range(8)]
    work_until_done(engine, ids, concurrency=4)
    assert {engine.get_run(i).status for i in ids} == {RunStatus.COMPLETED}
    assert SEEN.most <= 4
    assert "wfkit-worker-loop" in SEEN.threads  # the async runs' steps
    assert SEEN.threads - {"wfkit-worker-loop"}  # the sync runs' steps, in threads
    engine.close()


class Forwarding:
    """A store wrapper that hands every other attribute on (as test stores and observers
    do): it does not offer ``commit_async`` itself, so its ``commit`` must still see every
    checkpoint, and async runs keep a thread each."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.url = inner.url
        self.commits = 0

    def commit(self, *args: Any, **kwargs: Any) -> bool:
        self.commits += 1
        return bool(self._inner.commit(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_wrapper_without_commit_async_keeps_seeing_every_checkpoint(tmp_path: Path) -> None:
    store = Forwarding(SqliteStore(f"sqlite:///{tmp_path}/w.db"))
    engine = Engine(store, workflows=[three_hops])  # type: ignore[arg-type]
    ids = [engine.start(three_hops, n).id for n in range(4)]
    work_until_done(engine, ids, concurrency=4)
    assert {engine.get_run(i).status for i in ids} == {RunStatus.COMPLETED}
    assert "wfkit-worker-loop" not in SEEN.threads
    assert store.commits >= 4 * 4
    engine.close()


def test_a_failing_run_is_compensated_and_a_sleeping_one_parks(tmp_path: Path) -> None:
    engine = Engine(f"sqlite:///{tmp_path}/s.db", workflows=[saga, sleeper], inline_wait=0.05)
    failing = engine.start(saga, "hotel").id
    parked = engine.start(sleeper).id
    work_until_done(engine, [failing, parked], concurrency=4)
    assert engine.get_run(failing).status == RunStatus.COMPENSATED
    assert SEEN.undone == ["hotel"]
    assert engine.get_run(parked).status == RunStatus.COMPLETED
    types = [e.type for e in engine.history(parked)]
    assert "timer_started" in types and "timer_fired" in types
    engine.close()


def test_a_cancel_and_a_pause_reach_runs_on_the_loop(tmp_path: Path) -> None:
    engine = Engine(f"sqlite:///{tmp_path}/c.db", workflows=[long_one])
    cancelled = engine.start(long_one, 40).id
    paused = engine.start(long_one, 40).id
    stop = threading.Event()
    worker = threading.Thread(
        target=engine.run_worker, kwargs={"stop": stop, "concurrency": 4, "idle_interval": 0.02}
    )
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and min(len(engine.store.operations(cancelled)), len(engine.store.operations(paused)))
            < 3
        ):
            time.sleep(0.01)
        engine.cancel(cancelled, drive=False)
        engine.pause(paused)
        while time.monotonic() < deadline and not (
            engine.get_run(cancelled).status.terminal
            and "run_held" in [e.type for e in engine.history(paused)]
        ):
            time.sleep(0.02)
        held_at = len(engine.store.operations(paused))
        time.sleep(0.2)
        assert len(engine.store.operations(paused)) == held_at  # no step starts while paused
        engine.resume(paused)
        while time.monotonic() < deadline and not engine.get_run(paused).status.terminal:
            time.sleep(0.02)
    finally:
        stop.set()
        worker.join(10)
    assert engine.get_run(cancelled).status == RunStatus.CANCELLED
    assert SEEN.undone and SEEN.undone == sorted(SEEN.undone, key=lambda s: -int(s[1:]))
    assert engine.get_run(paused).status == RunStatus.COMPLETED
    assert engine.result(paused) == 40
    engine.close()


def test_a_run_left_by_a_crashed_worker_is_taken_over_on_the_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    engine = Engine(url, workflows=[three_hops], lease_seconds=1)
    run_id = engine.start(three_hops, 1).id
    # a worker claimed it and died: its lease ran out a minute ago
    gone = datetime.now(timezone.utc) - timedelta(minutes=1)
    engine.store.claim("dead-worker", gone, gone + timedelta(seconds=1), limit=1)
    engine.store.commit(run_id, Checkpoint(run={"status": RunStatus.RUNNING}))
    work_until_done(engine, [run_id], concurrency=4)
    assert engine.get_run(run_id).status == RunStatus.COMPLETED
    history = engine.history(run_id)
    taken = [e for e in history if e.type == "run_recovered"]
    assert taken and taken[0].data["previous_owner"] == "dead-worker"
    assert SEEN.threads == {"wfkit-worker-loop"}
    engine.close()


LANE_FLOWS = """
import asyncio
import threading
from pathlib import Path

from wfkit import Context, step, workflow

THREADS = Path(__file__).parent / "threads.log"


@step
async def mark(n: int) -> int:
    with THREADS.open("a") as out:
        out.write(threading.current_thread().name + "\\n")
    await asyncio.sleep(0.01)
    return n + 1


@workflow
async def marks(ctx: Context, n: int) -> int:
    for _ in range(3):
        n = await ctx.step(mark, n)
    return n
"""


def test_wfkit_worker_runs_async_workflows_on_its_event_loop(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from wfkit.engine.loader import load_workflow

    flows = tmp_path / "lane_flows.py"
    flows.write_text(LANE_FLOWS)
    url = f"sqlite:///{tmp_path}/cli.db"
    engine = Engine(url)
    marks = load_workflow(f"{flows}:marks")
    ids = [engine.start(marks, n).id for n in range(12)]
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfkit",
            "worker",
            str(flows),
            "--store",
            url,
            "--concurrency",
            "6",
            "--idle-interval",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            engine.get_run(i).status.terminal for i in ids
        ):
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert [engine.result(i) for i in ids] == [n + 3 for n in range(12)]
    assert set((tmp_path / "threads.log").read_text().split()) == {"wfkit-worker-loop"}
    assert output.count("COMPLETED") >= 12, output  # the worker's log still sees every change
    engine.close()


def test_sleeps_events_and_children_of_many_runs_on_the_loop(tmp_path: Path) -> None:
    store = CountingStore(f"sqlite:///{tmp_path}/waits.db")
    store.batches = []
    engine = Engine(store, workflows=[waits, kid])
    ids = [engine.start(waits, n, workflow_id=f"w{n}").id for n in range(12)]
    stop = threading.Event()
    worker = threading.Thread(
        target=engine.run_worker, kwargs={"stop": stop, "concurrency": 8, "idle_interval": 0.02}
    )
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
            engine.get_run(i).status == RunStatus.WAITING for i in ids
        ):
            time.sleep(0.02)
        for n, run_id in enumerate(ids):
            engine.send_event(run_id, "bonus", 100 * n)
        while time.monotonic() < deadline and not all(
            engine.get_run(i).status.terminal for i in ids
        ):
            time.sleep(0.02)
    finally:
        stop.set()
        worker.join(10)
    assert [engine.result(i) for i in ids] == [n + 1 + 100 * n + 1 for n in range(12)]
    assert SEEN.threads == {"wfkit-worker-loop"}
    for run_id in ids:
        types = [e.type for e in engine.history(run_id)]
        assert {"timer_fired", "event_received", "child_completed"} <= set(types)
    assert max(store.batches) > 1
    engine.close()
