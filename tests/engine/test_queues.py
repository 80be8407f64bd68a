"""Queues on an engine: declaration, start options, order, dedup, cancel, ``only_queues`` and
the rate limit in real time; each bad input refused before anything is stored."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from wfkit import Context, Engine, Queue, QueueDeduplicated, RunFailed, step, workflow
from wfkit.engine.clock import ManualClock
from wfkit.engine.status import RunStatus
from wfkit.engine.store.memory import MemoryStore
from wfkit.errors import DefinitionError, UsageError

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
done: list[str] = []


@step
def record(label: str) -> str:
    done.append(label)
    return label


@workflow
def job(ctx: Context, label: str) -> str:
    return record(label)


@workflow(queue=Queue("reports", concurrency=1))
def report(ctx: Context, label: str) -> str:
    return record(label)


def engine(*queues: Queue, clock: Any = None) -> Engine:
    done.clear()
    return Engine(MemoryStore(), workflows=[job, report], queues=queues, clock=clock)


def drain(e: Engine) -> None:
    while e.work_once():
        pass


def test_a_run_on_a_queue_waits_queued_then_runs() -> None:
    e = engine(Queue("emails"))
    h = e.start(job, "a", queue="emails")
    assert h.status() == RunStatus.QUEUED
    assert h.result() == "a"
    assert e.store.queue_entries([h.id])[h.id].queue == "emails"


def test_a_workflow_declares_its_queue_and_its_runs_start_on_it() -> None:
    e = engine()
    assert e.queues == {"reports": Queue("reports", concurrency=1)}
    first, second = e.start(report, "one"), e.start(report, "two")
    assert e.work_once()
    # concurrency 1: the second is dequeued only once the first has finished
    assert first.status() == RunStatus.COMPLETED and second.status() == RunStatus.QUEUED
    drain(e)
    assert done == ["one", "two"]


def test_smaller_priority_first_fifo_within_one() -> None:
    e = engine(Queue("q", concurrency=1))
    for label, priority in [("p5-a", 5), ("p0-a", 0), ("p5-b", 5), ("p1", 1), ("p0-b", 0)]:
        e.start(job, label, queue="q", queue_priority=priority)
    drain(e)
    assert done == ["p0-a", "p0-b", "p1", "p5-a", "p5-b"]


def test_dedup_refuses_a_second_start_until_the_first_finishes() -> None:
    e = engine(Queue("q"))
    first = e.start(job, "a", queue="q", queue_dedup_key="order-1")
    with pytest.raises(QueueDeduplicated) as raised:
        e.start(job, "b", queue="q", queue_dedup_key="order-1")
    assert (raised.value.queue, raised.value.dedup_key, raised.value.run_id) == (
        "q",
        "order-1",
        first.id,
    )
    assert len(e.list_runs()) == 1  # nothing created
    # The same run id again is the same run (start's idempotence), not a duplicate.
    again = e.start(job, "a", queue="q", queue_dedup_key="x", workflow_id=first.id)
    assert again.id == first.id and not again.created
    first.result()
    assert e.start(job, "c", queue="q", queue_dedup_key="order-1").created


def test_per_key_limit_runs_other_keys_meanwhile() -> None:
    e = engine(Queue("q", per_key=1))
    a1 = e.start(job, "a1", queue="q", queue_key="a")
    a2 = e.start(job, "a2", queue="q", queue_key="a")
    b1 = e.start(job, "b1", queue="q", queue_key="b")
    e.work_once()  # dequeues a1 and b1 (a2 waits for a1), runs a1
    assert [a1.status(), a2.status(), b1.status()] == [
        RunStatus.COMPLETED,
        RunStatus.QUEUED,
        RunStatus.PENDING,
    ]
    drain(e)
    assert sorted(done) == ["a1", "a2", "b1"]


def test_rate_limit_on_the_engine_clock() -> None:
    clock = ManualClock(T0)
    e = engine(Queue("q", rate=(2, 60.0)), clock=clock)
    handles = [e.start(job, str(n), queue="q") for n in range(5)]
    drain(e)
    assert sorted(done) == ["0", "1"]  # dequeued together: claimed in the usual order
    clock.advance(59)
    drain(e)
    assert sorted(done) == ["0", "1"]  # still within the minute
    clock.advance(2)
    drain(e)
    assert sorted(done) == ["0", "1", "2", "3"]
    assert handles[4].status() == RunStatus.QUEUED


def test_cancelling_a_queued_run_ends_it_without_a_slot() -> None:
    e = engine(Queue("q", concurrency=1))
    running = e.start(job, "first", queue="q")
    e.work_once(run_id="nothing-else")  # dequeues "first" (it takes the one slot)
    waiting = e.start(job, "second", queue="q")
    assert e.cancel(waiting.id)
    assert waiting.status() == RunStatus.CANCELLED
    with pytest.raises(RunFailed):
        waiting.result()
    assert running.result() == "first" and done == ["first"]


def test_only_queues_runs_only_those_queues() -> None:
    e = engine(Queue("emails"), Queue("sms"))
    mail = e.start(job, "mail", queue="emails")
    text = e.start(job, "text", queue="sms")
    plain = e.start(job, "plain")
    stop = threading.Event()
    worker = threading.Thread(
        target=e.run_worker,
        kwargs={"stop": stop, "idle_interval": 0.01, "only_queues": ["sms"]},
    )
    worker.start()
    try:
        assert e.result(text.id, timeout=10, drive=False) == "text"
    finally:
        stop.set()
        worker.join()
    assert done == ["text"]
    assert mail.status() == RunStatus.QUEUED and plain.status() == RunStatus.PENDING
    with pytest.raises(UsageError, match="unknown queue 'fax'"):
        e.run_worker(only_queues=["fax"])


def test_rate_limit_holds_in_real_time_on_sqlite(tmp_path: Path) -> None:
    period = 0.3
    e = Engine(f"sqlite:///{tmp_path / 'wfkit.db'}", queues=[Queue("q", rate=(3, period))])
    done.clear()
    handles = [e.start(job, str(n), queue="q") for n in range(9)]
    stop = threading.Event()
    worker = threading.Thread(
        target=e.run_worker, kwargs={"stop": stop, "idle_interval": 0.01, "concurrency": 2}
    )
    worker.start()
    try:
        for h in handles:
            h.result(timeout=20)
    finally:
        stop.set()
        worker.join()
    entries = e.store.queue_entries([h.id for h in handles])
    dequeued = sorted(entry.dequeued_at for entry in entries.values() if entry.dequeued_at)
    assert len(dequeued) == 9
    window = timedelta(seconds=period)
    for i, start in enumerate(dequeued):  # no trailing period ever held more than 3
        assert sum(1 for t in dequeued[i:] if t - start < window) <= 3
    # and the limit did not wait much longer than it had to: 9 runs at 3 a period need two
    # periods after the first dequeue; a period's slack for the polling
    assert window * 2 <= dequeued[-1] - dequeued[0] < window * 3 + timedelta(seconds=0.5)
    e.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Queue("q", concurrency=0), "concurrency must be a positive int"),
        (lambda: Queue("q", per_key=True), "per_key must be a positive int"),
        (lambda: Queue("q", rate=(0, 1.0)), "rate must be"),
        (lambda: Queue("q", rate=(1, 0)), "rate must be"),
        (lambda: Queue("q", rate=(1, float("nan"))), "rate must be"),
        (lambda: Queue(""), "queue name"),
    ],
)
def test_bad_limits_are_refused_at_declaration(make: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue": "nope"}, "unknown queue 'nope'"),
        ({"queue_key": "a"}, "need a queue"),
        ({"queue": "q", "queue_priority": -1}, "between 0 and"),
        ({"queue": "q", "queue_priority": True}, "must be an int"),
        ({"queue": "q", "queue_key": 5}, "queue_key must be a string"),
        ({"queue": Queue("q", concurrency=3)}, "declared with other limits"),
    ],
)
def test_bad_start_options_store_nothing(options: dict[str, Any], message: str) -> None:
    e = engine(Queue("q"))
    with pytest.raises(UsageError, match=message):
        e.start(job, "x", **options)
    assert e.list_runs() == []


def test_a_queue_declared_twice_differently_is_refused() -> None:
    e = engine(Queue("q", concurrency=1))
    with pytest.raises(DefinitionError, match="declared twice"):
        e.register_queue(Queue("q", concurrency=2))
    with pytest.raises(DefinitionError, match="queue= takes a wfkit.Queue"):
        workflow(name="w", queue="q")(lambda ctx: None)  # type: ignore[arg-type]


def test_queued_runs_are_in_flight_for_version_drift() -> None:
    e = engine(Queue("q"))
    e.start(job, "waiting", queue="q")
    (group,) = e.versions()
    assert (group.workflow, group.runs, group.statuses) == ("job", 1, {"QUEUED": 1})
