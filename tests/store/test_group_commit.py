"""Group commit: checkpoints of concurrently executing runs share one transaction (one fsync),
each caller returning only once its batch is durable, with its own answer; a checkpoint
refused by its lease fence does not sink the batch; a failed transaction fails every
checkpoint in it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from store_records import at, entry, op, run

from wfkit.engine.store.base import Checkpoint, LeaseLost
from wfkit.engine.store.group_commit import GroupCommit
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.errors import StoreError


# -- the batcher alone ---------------------------------------------------------------------------
def test_callers_that_arrive_while_a_batch_is_written_share_the_next_one() -> None:
    gate = threading.Event()
    batches: list[list[int]] = []

    def write(items):
        batches.append(list(items))
        if len(batches) == 1:
            gate.wait(5)  # the first batch is slow: the others queue up meanwhile
        return [(True, item * 10) for item in items]

    group: GroupCommit[int] = GroupCommit(write)
    results: dict[int, int] = {}

    def call(n: int) -> None:
        results[n] = group.submit(n)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not batches:
        time.sleep(0.001)
    others = [threading.Thread(target=call, args=(n,)) for n in range(1, 9)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 5
    while len(group._queue) < 8 and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.set()
    for thread in [first, *others]:
        thread.join(5)
    assert results == {n: n * 10 for n in range(9)}
    assert batches[0] == [0] and sorted(batches[1]) == list(range(1, 9)) and len(batches) == 2


def test_each_caller_gets_its_own_outcome_and_a_failed_write_fails_its_batch() -> None:
    def write(items):
        if "boom" in items:
            raise OSError("disk gone")
        return [(False, ValueError(item)) if item == "bad" else (True, item) for item in items]

    group: GroupCommit[str] = GroupCommit(write)
    assert group.submit("ok") == "ok"
    with pytest.raises(ValueError):
        group.submit("bad")
    with pytest.raises(OSError):
        group.submit("boom")
    assert group.submit("again") == "again"  # the writer is free again


# -- on SQLite -------------------------------------------------------------------------------------
def _claimed(store: SqliteStore, run_id: str) -> None:
    store.create_run(run(run_id), [])
    store.claim("w1", at(0), at(30), run_id=run_id)


def _step(store: SqliteStore, run_id: str, seq: int = 1) -> Any:
    return store._prepare(
        run_id,
        Checkpoint(operations=[op(seq, run_id)], history=[entry("step_completed", run_id)]),
        "w1",
        at(1),
    )


# -- tasks on an event loop ------------------------------------------------------------------------
def test_tasks_ready_in_one_turn_of_the_loop_share_one_batch_without_blocking_it() -> None:
    batches: list[list[int]] = []

    def write(items):
        batches.append(list(items))
        return [(True, item * 10) for item in items]

    group: GroupCommit[int] = GroupCommit(write)

    async def run(n: int, steps: int) -> list[int]:
        return [await group.submit_async(n * 100 + k) for k in range(steps)]

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(run(n, 3) for n in range(8)))

    results = asyncio.run(main())
    assert results == [[(n * 100 + k) * 10 for k in range(3)] for n in range(8)]
    # each turn of the loop: every task's next checkpoint, in one batch
    assert [sorted(b) for b in batches] == [sorted(n * 100 + k for n in range(8)) for k in range(3)]


def test_a_task_gets_its_own_outcome_and_a_failed_write_fails_its_batch() -> None:
    def write(items):
        if "boom" in items:
            raise OSError("disk gone")
        return [(False, KeyError(item)) if item == "missing" else (True, item) for item in items]

    group: GroupCommit[str] = GroupCommit(write)

    async def main() -> list[Any]:
        return await asyncio.gather(
            group.submit_async("a"), group.submit_async("missing"), return_exceptions=True
        )

    ok, refused = asyncio.run(main())
    assert ok == "a" and isinstance(refused, KeyError)

    async def doomed() -> list[Any]:
        return await asyncio.gather(
            group.submit_async("boom"), group.submit_async("b"), return_exceptions=True
        )

    assert [type(e) for e in asyncio.run(doomed())] == [OSError, OSError]


def test_threads_and_a_loop_share_the_writer_and_its_batches() -> None:
    """A thread that leads writes the loop's waiting checkpoints too, and hands the writer to
    the loop's next one (and back): nobody waits for a writer that never comes."""
    gate = threading.Event()
    batches: list[list[str]] = []

    def write(items):
        batches.append(list(items))
        if items == ["thread-0"]:
            gate.wait(5)  # the thread's batch is slow: the loop's checkpoints queue behind it
        return [(True, item.upper()) for item in items]

    group: GroupCommit[str] = GroupCommit(write)
    answers: dict[str, str] = {}

    def thread_call(name: str) -> None:
        answers[name] = group.submit(name)

    first = threading.Thread(target=thread_call, args=("thread-0",))
    first.start()
    while not batches:
        time.sleep(0.001)

    async def task(name: str) -> None:
        for k in range(3):
            answers[f"{name}.{k}"] = await group.submit_async(f"{name}.{k}")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(task(f"task-{n}")) for n in range(4)]
        while len(group._queue) < 4:
            await asyncio.sleep(0.001)
        late = threading.Thread(target=thread_call, args=("thread-1",))
        late.start()
        while len(group._queue) < 5:
            await asyncio.sleep(0.001)
        gate.set()
        await asyncio.gather(*tasks)
        await asyncio.to_thread(late.join, 5)

    asyncio.run(main())
    first.join(5)
    assert answers == {
        name: name.upper()
        for name in ["thread-0", "thread-1", *(f"task-{n}.{k}" for n in range(4) for k in range(3))]
    }
    # the thread's batch, then one with the four tasks' first checkpoints and the late thread
    assert sorted(batches[1]) == sorted(["thread-1", *(f"task-{n}.0" for n in range(4))])
    assert not group._writing and not group._queue


def test_a_synchronous_write_from_the_loop_does_not_wait_for_the_loop() -> None:
    """A worker's loop writes its rarer checkpoints synchronously (a timer that fired, a
    child's result); if a task's checkpoint made the loop the next leader, waiting for that
    leader would wait forever: the sync write goes alone, at once."""
    batches: list[list[str]] = []

    def write(items):
        batches.append(list(items))
        return [(True, item) for item in items]

    group: GroupCommit[str] = GroupCommit(write)

    async def main() -> tuple[str, str]:
        task = asyncio.ensure_future(group.submit_async("task"))
        await asyncio.sleep(0)  # the task queued its checkpoint: the loop leads next turn
        assert group._writing
        alone = group.submit("sync")
        return alone, await task

    answers: list[tuple[str, str]] = []
    # in a thread of its own: a deadlock must fail the test, not hang it
    loop_thread = threading.Thread(target=lambda: answers.append(asyncio.run(main())), daemon=True)
    loop_thread.start()
    loop_thread.join(5)
    assert not loop_thread.is_alive(), "the loop waited for itself"
    assert answers == [("sync", "task")]
    assert batches == [["sync"], ["task"]]


def test_a_closed_loop_does_not_keep_the_writer() -> None:
    """A task left waiting on a loop that then closed must not be handed the writer: the next
    caller in line gets it."""
    gate = threading.Event()

    def write(items):
        if items == ["first"]:
            gate.wait(5)
        return [(True, item) for item in items]

    group: GroupCommit[str] = GroupCommit(write)
    leader = threading.Thread(target=group.submit, args=("first",))
    leader.start()
    while not group._writing:
        time.sleep(0.001)

    async def abandon() -> None:
        pending = asyncio.ensure_future(group.submit_async("orphan"))
        await asyncio.sleep(0.01)
        pending.cancel()

    asyncio.run(abandon())  # the loop is closed; its slot is still queued
    answers: list[str] = []
    later = threading.Thread(target=lambda: answers.append(group.submit("later")))
    later.start()
    while len(group._queue) < 2:  # the orphan, then the later caller
        time.sleep(0.001)
    gate.set()
    leader.join(5)
    later.join(5)
    assert answers == ["later"] and not group._writing


def test_a_fenced_checkpoint_does_not_sink_the_others_in_its_batch(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/g.db")
    for run_id in ("a", "b", "c"):
        _claimed(store, run_id)
    store.claim("w2", at(100), at(130), run_id="b")  # b's lease expired and was taken
    outcomes = store._commit_batch([_step(store, "a"), _step(store, "b"), _step(store, "c")])
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], LeaseLost)
    assert [len(store.operations(r)) for r in ("a", "b", "c")] == [1, 0, 1]
    assert [len(store.history(r)) for r in ("a", "b", "c")] == [1, 0, 1]


def test_a_checkpoint_failing_half_way_is_undone_alone(tmp_path: Path) -> None:
    """b's history line is written before its operation fails: the batch is written again
    with a savepoint around each checkpoint, and only b's is undone."""
    store = SqliteStore(f"sqlite:///{tmp_path}/g.db")
    for run_id in ("a", "b", "c"):
        _claimed(store, run_id)
    store._conn.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON operations WHEN NEW.name = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
    )
    poisoned = store._prepare(
        "b",
        Checkpoint(operations=[op(1, "b", name="poison")], history=[entry("step_completed", "b")]),
        "w1",
        at(1),
    )
    outcomes = store._commit_batch([_step(store, "a"), poisoned, _step(store, "c")])
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], StoreError) and "poisoned" in str(outcomes[1][1])
    assert [len(store.operations(r)) for r in ("a", "b", "c")] == [1, 0, 1]
    assert [len(store.history(r)) for r in ("a", "b", "c")] == [1, 0, 1]
    assert store.get_run("b").lease_owner == "w1"  # b's fenced update was undone with the rest


def test_a_transaction_that_fails_fails_every_checkpoint_in_it(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/g.db")
    for run_id in ("a", "b"):
        _claimed(store, run_id)
    blocker = sqlite3.connect(str(tmp_path / "g.db"), isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    store._conn.execute("PRAGMA busy_timeout=0")
    try:
        outcomes = store._commit_batch([_step(store, "a"), _step(store, "b")])
    finally:
        blocker.execute("ROLLBACK")
    assert [ok for ok, _ in outcomes] == [False, False]
    assert all(isinstance(error, StoreError) for _, error in outcomes)
    assert store.operations("a") == [] and store.operations("b") == []


def test_many_threads_commit_through_shared_transactions(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/g.db")
    runs = [f"r{n}" for n in range(16)]
    for run_id in runs:
        _claimed(store, run_id)
    sizes: list[int] = []
    original = store._commit_batch

    def counting(batch):
        sizes.append(len(batch))
        return original(batch)

    store._group = GroupCommit(counting)
    errors: list[BaseException] = []

    def steps(run_id: str) -> None:
        try:
            for seq in range(1, 21):
                store.commit(
                    run_id,
                    Checkpoint(
                        operations=[op(seq, run_id)], history=[entry("step_completed", run_id)]
                    ),
                    lease_owner="w1",
                    now=at(1),
                )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=steps, args=(r,)) for r in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert all(len(store.operations(r)) == 20 for r in runs)
    assert sum(sizes) == 16 * 20 and len(sizes) <= 16 * 20


def test_group_commit_can_be_turned_off(tmp_path: Path) -> None:
    assert SqliteStore(f"sqlite:///{tmp_path}/a.db")._group is not None
    assert SqliteStore(f"sqlite:///{tmp_path}/b.db?group_commit=off")._group is None
    with pytest.raises(StoreError) as error:
        SqliteStore(f"sqlite:///{tmp_path}/c.db?group_commit=maybe")
    assert "group_commit=on (default) or off" in (error.value.hint or "")
