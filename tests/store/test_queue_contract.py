"""The store's half of queues, on every backend: a QUEUED run is claimed only once a claim
dequeues it, and a claim dequeues only what the queue's limits allow at its ``now``.

Time is the test clock (tests/store/store_records.py): the rate limit's trailing period is
measured on the caller's ``now``, like every timer.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from store_records import at, run

from wfkit.engine.queues import DEQUEUED, QUEUED, DuplicateQueued, Queue, QueueEntry
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Checkpoint, Store


def enqueue(
    store: Store,
    run_id: str,
    queue: str = "q",
    *,
    key: str | None = None,
    priority: int = 0,
    dedup: str | None = None,
    created: float = 0,
) -> None:
    store.create_run(
        run(run_id, status=RunStatus.QUEUED, created=created),
        [],
        queue=QueueEntry(queue, key, priority, dedup),
    )


def claim(store: Store, queues: Sequence[Queue], now: float = 1, **kw: object) -> list[str]:
    got = store.claim("w1", at(now), at(now + 30), limit=100, queues=queues, **kw)  # type: ignore[arg-type]
    return [r.id for r in got]


def finish(store: Store, run_id: str, now: float = 2) -> None:
    store.commit(
        run_id,
        Checkpoint(run={"status": RunStatus.COMPLETED, "finished_at": at(now)}, release_lease=True),
    )


def test_a_queued_run_is_not_claimed_until_its_queue_is_dequeued(store: Store) -> None:
    enqueue(store, "a")
    assert claim(store, []) == []
    assert store.get_run("a").status == RunStatus.QUEUED  # type: ignore[union-attr]
    assert claim(store, [Queue("other")]) == []  # another queue's pass leaves it
    assert claim(store, [Queue("q")]) == ["a"]
    got = store.get_run("a")
    assert got is not None and got.status == RunStatus.PENDING
    entry = store.queue_entries(["a", "nope"])["a"]
    assert (entry.queue, entry.state, entry.dequeued_at) == ("q", DEQUEUED, at(1))
    assert list(store.queue_entries(["a", "nope"])) == ["a"]


def test_concurrency_counts_dequeued_runs_until_they_finish(store: Store) -> None:
    for i in range(5):
        enqueue(store, f"r{i}", created=i)
    q = Queue("q", concurrency=2)
    assert claim(store, [q]) == ["r0", "r1"]
    assert claim(store, [q], now=2) == []  # two are dequeued and not finished
    finish(store, "r0")
    assert claim(store, [q], now=3) == ["r2"]
    assert store.queue_entries(["r3"])["r3"].state == QUEUED


def test_per_key_limit_lets_other_keys_pass(store: Store) -> None:
    enqueue(store, "a1", key="a", created=1)
    enqueue(store, "a2", key="a", created=2)
    enqueue(store, "b1", key="b", created=3)
    enqueue(store, "n1", created=4)  # no key: not limited by per_key
    q = Queue("q", per_key=1)
    assert sorted(claim(store, [q])) == ["a1", "b1", "n1"]
    finish(store, "a1")
    assert claim(store, [q], now=3) == ["a2"]


def test_rate_limit_counts_dequeues_in_the_trailing_period(store: Store) -> None:
    for i in range(5):
        enqueue(store, f"r{i}", created=i)
    q = Queue("q", rate=(2, 10.0))
    assert claim(store, [q], now=1) == ["r0", "r1"]
    assert claim(store, [q], now=10) == []  # both still within the last 10 s
    assert claim(store, [q], now=11.5) == ["r2", "r3"]


def test_smaller_priority_first_then_creation_order(store: Store) -> None:
    enqueue(store, "late-urgent", priority=0, created=3)
    enqueue(store, "first-normal", priority=5, created=1)
    enqueue(store, "second-normal", priority=5, created=2)
    enqueue(store, "early-urgent", priority=0, created=4)
    q = Queue("q", concurrency=1)
    order = []
    for step in range(4):
        (got,) = claim(store, [q], now=10 + step)
        order.append(got)
        finish(store, got, now=10 + step)
    # Within a priority: the order the runs were created in (the store's insertion order).
    assert order == ["late-urgent", "early-urgent", "first-normal", "second-normal"]


def test_a_dedup_key_is_held_until_its_run_finishes(store: Store) -> None:
    enqueue(store, "a", dedup="order-7")
    with pytest.raises(DuplicateQueued) as raised:
        enqueue(store, "b", dedup="order-7")
    assert (raised.value.queue, raised.value.dedup_key, raised.value.run_id) == (
        "q",
        "order-7",
        "a",
    )
    assert store.get_run("b") is None  # nothing written
    enqueue(store, "c", queue="other", dedup="order-7")  # per queue
    assert claim(store, [Queue("q")]) == ["a"]
    with pytest.raises(DuplicateQueued):
        enqueue(store, "b", dedup="order-7")  # dequeued, still not finished
    finish(store, "a")
    enqueue(store, "b", dedup="order-7")
    assert store.get_run("b") is not None


def test_only_queues_claims_only_runs_on_those_queues(store: Store) -> None:
    enqueue(store, "e", queue="emails")
    enqueue(store, "s", queue="sms")
    store.create_run(run("plain"), [])
    both = [Queue("emails"), Queue("sms")]
    assert claim(store, both, only_queues=["emails"]) == ["e"]
    assert sorted(claim(store, both, now=2)) == ["plain", "s"]


def test_a_cancelled_queued_run_is_passed_over_and_pruned_with_its_entry(store: Store) -> None:
    enqueue(store, "a")
    enqueue(store, "b", created=1)
    store.commit("a", Checkpoint(run={"status": RunStatus.CANCELLED, "finished_at": at(1)}))
    assert claim(store, [Queue("q", concurrency=1)], now=2) == ["b"]
    assert store.delete_runs(["a"], at(100), [RunStatus.CANCELLED]) == ["a"]
    assert store.queue_entries(["a", "b"]).keys() == {"b"}


def test_a_paused_queued_run_waits_without_holding_a_slot(store: Store) -> None:
    """Dequeued, a paused run (or a run of a paused workflow) would hold one of the queue's
    slots while the runs behind it waited for nothing; it keeps its place instead and is
    dequeued in its turn once resumed."""
    for i in range(3):
        enqueue(store, f"r{i}", created=i)
    store.commit("r0", Checkpoint(run={"paused": True}))
    q = Queue("q", concurrency=1)
    assert claim(store, [q]) == ["r1"]
    assert store.get_run("r0").status == RunStatus.QUEUED  # type: ignore[union-attr]
    finish(store, "r1")
    store.set_workflow_paused("wf", True, at(2))  # every run here is of workflow "wf"
    assert claim(store, [q], now=3) == []
    assert store.queue_entries(["r2"])["r2"].state == QUEUED
    store.set_workflow_paused("wf", False, at(4))
    store.commit("r0", Checkpoint(run={"paused": False}))
    assert claim(store, [q], now=5) == ["r0"]  # its place kept: first again


def test_list_runs_by_queue(store: Store) -> None:
    enqueue(store, "a1", "a", created=1)
    enqueue(store, "b1", "b", created=2)
    enqueue(store, "a2", "a", created=3)
    store.create_run(run("plain", created=4), [])
    assert [r.id for r in store.list_runs(queue="a")] == ["a2", "a1"]  # newest first
    assert [r.id for r in store.list_runs(queue="a", limit=1)] == ["a2"]
    assert [r.id for r in store.list_runs(queue="b", status=RunStatus.QUEUED)] == ["b1"]
    assert store.list_runs(queue="a", status=RunStatus.PENDING) == []
    assert store.list_runs(queue="nope") == []
    assert len(store.list_runs()) == 4  # no queue given: every run
