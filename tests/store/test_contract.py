"""The store contract: what the engine relies on from every backend
(see wfkit/engine/store/base.py).

Each test runs against every factory in conftest.STORE_FACTORIES, so a new backend is correct
when this file passes on it. Time always comes from the test clock (``at(seconds)``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_records import T0, at, entry, op, run

from wfkit.engine.core.history_entries import op_entry, op_from_snapshot
from wfkit.engine.status import ACTIVE, PARKED, TERMINAL, OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import (
    CancelRequested,
    Checkpoint,
    LeaseLost,
    OperationRecord,
    RunRecord,
    Store,
    op_snapshot,
)

LEASE = 30  # seconds


def claimed(store: Store, run_id: str = "r1", owner: str = "w1", now: float = 0) -> RunRecord:
    """Create ``run_id`` (if needed) and lease it to ``owner`` until now + LEASE."""
    store.create_run(run(run_id), [])
    (record,) = store.claim(owner, at(now), at(now + LEASE), run_id=run_id)
    return record


def snapshot(store: Store, run_id: str = "r1") -> tuple[object, ...]:
    return (store.get_run(run_id), store.operations(run_id), store.history(run_id))


# -- create / get / list ----------------------------------------------------------------------
def test_create_run_stores_the_run_and_its_first_history(store: Store) -> None:
    stored, created = store.create_run(run("r1"), [entry("run_started"), entry("x", when=1)])
    assert created and stored == run("r1")
    assert store.get_run("r1") == run("r1")
    assert [(e.index, e.type, e.run_id) for e in store.history("r1")] == [
        (0, "run_started", "r1"),
        (1, "x", "r1"),
    ]


def test_create_run_is_idempotent_on_id(store: Store) -> None:
    store.create_run(run("r1", workflow="first"), [entry("run_started")])
    stored, created = store.create_run(
        run("r1", workflow="second", created=5), [entry("run_started")]
    )
    assert not created and stored == run("r1", workflow="first")
    assert store.get_run("r1") == run("r1", workflow="first")
    assert len(store.history("r1")) == 1


def test_get_run_of_an_unknown_id_is_none(store: Store) -> None:
    assert store.get_run("nope") is None


FULL_RUN = run(
    "full",
    created=1,
    status=RunStatus.COMPENSATING,
    input='{"args":[1],"kwargs":{"é":"✓"}}',
    seed=2**64 + 12345,
    updated_at=at(2.000001),
    result='{"ok":true}',
    error='{"type":"ValueError","message":"bad"}',
    parent_id="parent",
    parent_seq=4,
    wake_at=at(3),
    lease_owner="w9",
    lease_expires_at=at(4),
    recoveries=3,
    cancel_requested=True,
    compensate_on_cancel=False,
    finished_at=at(5),
)


@pytest.mark.parametrize("record", [run("minimal"), FULL_RUN], ids=["defaults", "every-field"])
def test_every_run_field_round_trips(store: Store, record: RunRecord) -> None:
    store.create_run(record, [])
    got = store.get_run(record.id)
    assert got == record
    assert type(got.status) is RunStatus and type(got.seed) is int
    assert type(got.cancel_requested) is bool and type(got.compensate_on_cancel) is bool
    for name in ("created_at", "updated_at", "wake_at", "lease_expires_at", "finished_at"):
        value = getattr(got, name)
        assert value == getattr(record, name)
        assert value is None or value.utcoffset() == timedelta(0)


def test_datetimes_in_other_timezones_keep_their_instant(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    store.create_run(
        run("r1", created_at=T0.astimezone(plus2), wake_at=at(1).astimezone(plus2)), []
    )
    got = store.get_run("r1")
    assert got.created_at == T0 and got.wake_at == at(1)
    assert got.created_at.utcoffset() is not None


def test_list_runs_newest_first_then_id_descending(store: Store) -> None:
    for run_id, created in [("a", 1), ("b", 3), ("c", 2), ("d", 3)]:
        store.create_run(run(run_id, created=created), [])
    assert [r.id for r in store.list_runs()] == ["d", "b", "c", "a"]
    assert [r.id for r in store.list_runs(limit=2)] == ["d", "b"]
    assert store.list_runs(limit=0) == []


def test_list_runs_filters(store: Store) -> None:
    store.create_run(run("a", created=1, workflow="orders"), [])
    store.create_run(run("b", created=2, workflow="orders", status=RunStatus.COMPLETED), [])
    store.create_run(run("c", created=3, workflow="etl", parent_id="a", parent_seq=1), [])
    store.create_run(run("d", created=4, workflow="orders", parent_id="a", parent_seq=2), [])
    ids = lambda **kw: [r.id for r in store.list_runs(**kw)]  # noqa: E731
    assert ids(workflow="orders") == ["d", "b", "a"]
    assert ids(status=RunStatus.COMPLETED) == ["b"]
    assert ids(status=RunStatus.PENDING, workflow="orders") == ["d", "a"]
    assert ids(parent_id="a") == ["d", "c"]
    assert ids(parent_id="a", workflow="etl") == ["c"]
    assert ids(workflow="nope") == []


def test_list_runs_pages_by_keyset_cursor(store: Store) -> None:
    for run_id, created in [("a", 1), ("b", 3), ("c", 2), ("d", 3), ("e", 2)]:
        store.create_run(
            run(
                run_id,
                created=created,
                status=RunStatus.COMPLETED if run_id in "bc" else RunStatus.PENDING,
            ),
            [],
        )
    pages, cursor = [], None
    while True:
        page = store.list_runs(limit=2, before=cursor)
        if not page:
            break
        pages.append([r.id for r in page])
        cursor = (page[-1].created_at, page[-1].id)
    assert pages == [["d", "b"], ["e", "c"], ["a"]]
    # The cursor is a position, not a run: it works after that run is gone, with filters too.
    assert [r.id for r in store.list_runs(before=(at(3), "c"))] == ["b", "e", "c", "a"]
    assert [r.id for r in store.list_runs(status=RunStatus.PENDING, before=(at(3), "d"))] == [
        "e",
        "a",
    ]
    assert store.list_runs(before=(at(0), "z")) == []


def test_count_runs_by_status(store: Store) -> None:
    assert store.count_runs() == {}
    for run_id, status, workflow in [
        ("a", RunStatus.PENDING, "orders"),
        ("b", RunStatus.COMPLETED, "orders"),
        ("c", RunStatus.COMPLETED, "etl"),
        ("d", RunStatus.FAILED, "orders"),
    ]:
        store.create_run(run(run_id, status=status, workflow=workflow), [])
    assert store.count_runs() == {RunStatus.PENDING: 1, RunStatus.COMPLETED: 2, RunStatus.FAILED: 1}
    assert store.count_runs(workflow="etl") == {RunStatus.COMPLETED: 1}
    assert store.count_runs(workflow="nope") == {}


def test_steps_done_counts_completed_and_skipped_steps_of_each_run(store: Store) -> None:
    store.create_run(run("r1"), [])
    store.create_run(run("r2"), [])
    store.create_run(run("r3"), [])
    store.commit(
        "r1",
        Checkpoint(
            operations=[
                op(0),
                op(1, status=OpStatus.SKIPPED),
                op(2, status=OpStatus.FAILED),
                op(3, status=OpStatus.STARTED),
                op(4, kind=OpKind.SLEEP),
                op(5, kind=OpKind.COMPENSATION, compensates=0),
                op(6, status=OpStatus.RETRYING),
            ]
        ),
    )
    store.commit("r2", Checkpoint(operations=[op(0, run_id="r2"), op(1, run_id="r2")]))
    assert store.steps_done(["r1", "r2", "r3", "gone"]) == {"r1": 2, "r2": 2, "r3": 0, "gone": 0}
    assert store.steps_done([]) == {}
    # More ids than one statement may bind: every run is still counted.
    many = [f"m{i}" for i in range(1200)]
    for run_id in many[:3]:
        store.create_run(run(run_id), [])
        store.commit(run_id, Checkpoint(operations=[op(0, run_id=run_id)]))
    counts = store.steps_done([*many, "r2"])
    assert len(counts) == 1201 and sum(counts.values()) == 3 + 2


def test_returned_records_are_copies(store: Store) -> None:
    record = run("r1")
    store.create_run(record, [])
    record.status = RunStatus.FAILED
    store.get_run("r1").status = RunStatus.FAILED
    assert store.get_run("r1").status == RunStatus.PENDING
    data = {"nested": {"k": [1]}}
    store.commit("r1", Checkpoint(history=[entry("x", data=data)]))
    data["nested"]["k"].append(2)
    store.history("r1")[0].data["nested"]["k"].append(3)
    assert store.history("r1")[0].data == {"nested": {"k": [1]}}


# -- operations --------------------------------------------------------------------------------
def test_operations_are_upserted_by_seq_and_ordered_by_seq(store: Store) -> None:
    store.create_run(run("r1"), [])
    store.commit("r1", Checkpoint(operations=[op(2), op(0, status=OpStatus.STARTED)]))
    store.commit(
        "r1", Checkpoint(operations=[op(1), op(0, status=OpStatus.COMPLETED, result='"done"')])
    )
    got = store.operations("r1")
    assert [(o.seq, o.status, o.result) for o in got] == [
        (0, OpStatus.COMPLETED, '"done"'),
        (1, OpStatus.COMPLETED, None),
        (2, OpStatus.COMPLETED, None),
    ]
    assert store.operations("other") == []


FULL_OP = op(
    3,
    kind=OpKind.COMPENSATION,
    name="refund",
    status=OpStatus.RETRYING,
    attempt=4,
    started_at=at(1),
    finished_at=at(2.5),
    result='{"r":1}',
    error='{"type":"IOError","module":"builtins","message":"x","args":["x"]}',
    wake_at=at(9),
    source="flows.py:42",
    compensates=1,
)


@pytest.mark.parametrize("record", [op(0), FULL_OP], ids=["defaults", "every-field"])
def test_every_operation_field_round_trips(store: Store, record: OperationRecord) -> None:
    store.create_run(run("r1"), [])
    store.commit("r1", Checkpoint(operations=[record]))
    (got,) = store.operations("r1")
    assert got == record
    assert type(got.kind) is OpKind and type(got.status) is OpStatus
    assert all(
        v is None or v.utcoffset() == timedelta(0)
        for v in (got.started_at, got.finished_at, got.wake_at)
    )


@pytest.mark.parametrize(
    "record", [op(0, started_at=at(1)), FULL_OP], ids=["defaults", "every-field"]
)
@pytest.mark.parametrize("with_record", [True, False], ids=["with-op", "history-only"])
def test_an_operation_history_entry_reads_back_as_the_records_snapshot(
    store: Store, record: OperationRecord, with_record: bool
) -> None:
    store.create_run(run("r1"), [entry("run_started")])
    store.commit(
        "r1",
        Checkpoint(
            operations=[record] if with_record else [], history=[op_entry("step_completed", record)]
        ),
    )
    (_, got) = store.history("r1")
    assert (got.index, got.type, got.seq, got.name, got.at) == (
        1,
        "step_completed",
        record.seq,
        record.name,
        record.finished_at or record.started_at,
    )
    assert got.data == op_snapshot(record) and got.op is None
    assert op_from_snapshot("r1", got.seq or 0, got.name or "", got.data) == record


def test_every_kind_and_status_round_trips(store: Store) -> None:
    store.create_run(run("r1"), [])
    records = [
        op(i, kind=kind, status=status)
        for i, (kind, status) in enumerate((k, s) for k in OpKind for s in OpStatus)
    ]
    store.commit("r1", Checkpoint(operations=records))
    assert store.operations("r1") == records


def test_discard_operations_deletes_and_upsert_wins_in_the_same_checkpoint(store: Store) -> None:
    store.create_run(run("r1"), [])
    store.commit("r1", Checkpoint(operations=[op(0), op(1), op(2)]))
    store.commit(
        "r1", Checkpoint(discard_operations=[1, 2, 7], operations=[op(2, status=OpStatus.SKIPPED)])
    )
    assert [(o.seq, o.status) for o in store.operations("r1")] == [
        (0, OpStatus.COMPLETED),
        (2, OpStatus.SKIPPED),
    ]


# -- commit ------------------------------------------------------------------------------------
def test_commit_updates_only_the_named_run_fields(store: Store) -> None:
    store.create_run(FULL_RUN, [])
    store.commit(
        "full",
        Checkpoint(
            run={
                "status": RunStatus.COMPLETED,
                "updated_at": at(10),
                "result": None,
                "wake_at": None,
                "cancel_requested": False,
                "recoveries": 4,
            }
        ),
    )
    assert store.get_run("full") == replace(
        FULL_RUN,
        status=RunStatus.COMPLETED,
        updated_at=at(10),
        result=None,
        wake_at=None,
        cancel_requested=False,
        recoveries=4,
    )


def test_an_empty_commit_changes_nothing(store: Store) -> None:
    store.create_run(run("r1"), [entry("run_started")])
    before = snapshot(store)
    store.commit("r1", Checkpoint())
    assert snapshot(store) == before


def test_history_indexes_are_consecutive_across_commits(store: Store) -> None:
    store.create_run(run("r1"), [entry("run_started")])
    store.create_run(run("r2"), [entry("run_started", "r2")])
    store.commit("r1", Checkpoint(history=[entry("a", when=1), entry("b", when=2)]))
    store.commit("r2", Checkpoint(history=[entry("z", "r2")]))
    store.commit(
        "r1",
        Checkpoint(
            history=[entry("c", when=3, seq=0, name="s", data={"n": [1, {"x": None}], "é": "✓"})]
        ),
    )
    got = store.history("r1")
    assert [(e.index, e.type) for e in got] == [(0, "run_started"), (1, "a"), (2, "b"), (3, "c")]
    assert got[3] == entry(
        "c", when=3, seq=0, name="s", data={"n": [1, {"x": None}], "é": "✓"}, index=3
    )
    assert [(e.index, e.type) for e in store.history("r2")] == [(0, "run_started"), (1, "z")]
    assert store.history("nope") == []


def test_operations_and_history_belong_to_the_committed_run(store: Store) -> None:
    store.create_run(run("r1"), [])
    store.commit(
        "r1",
        Checkpoint(
            operations=[op(0, run_id="elsewhere")], history=[entry("a", run_id="elsewhere")]
        ),
    )
    assert [e.run_id for e in store.history("r1")] == ["r1"]
    assert [o.run_id for o in store.operations("r1")] == ["r1"]
    assert store.operations("elsewhere") == [] and store.history("elsewhere") == []


@given(batches=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=8))
@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=15
)
def test_history_is_one_gapless_log_in_commit_order(
    store_factory: Callable[[], Store], batches: list[int]
) -> None:
    store = store_factory()
    store.create_run(run("r1"), [])
    expected = []
    for b, size in enumerate(batches):
        names = [f"{b}.{i}" for i in range(size)]
        store.commit("r1", Checkpoint(history=[entry(n) for n in names]))
        expected += names
    got = store.history("r1")
    assert [e.type for e in got] == expected and [e.index for e in got] == list(range(len(got)))


def test_commit_to_an_unknown_run_raises_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        store.commit("nope", Checkpoint(run={"updated_at": at(1)}))
    with pytest.raises(KeyError):
        store.commit("nope", Checkpoint(), lease_owner="w1", now=at(0))


def test_a_commit_with_an_unknown_run_field_writes_nothing(store: Store) -> None:
    store.create_run(run("r1"), [])
    event = store.add_event("r1", "approval", "{}", at(0))
    before = snapshot(store)
    with pytest.raises(TypeError):
        store.commit(
            "r1",
            Checkpoint(
                run={"updated_at": at(1), "no_such_field": 1},
                operations=[op(0)],
                history=[entry("x")],
                consume_event=(event.id, 0),
            ),
        )
    assert snapshot(store) == before
    assert store.pending_events("r1", "approval") == [event]


# -- lease fencing -----------------------------------------------------------------------------
FENCED_WRITE = dict(
    run={"status": RunStatus.RUNNING, "updated_at": at(5)},
    operations=[op(0)],
    history=[entry("step_completed", seq=0)],
    discard_operations=[9],
)


def test_the_lease_holder_commits(store: Store) -> None:
    claimed(store)
    store.commit("r1", Checkpoint(**FENCED_WRITE), lease_owner="w1", now=at(5))
    got = store.get_run("r1")
    assert got.status == RunStatus.RUNNING and got.lease_owner == "w1"
    assert got.lease_expires_at == at(LEASE)
    assert [o.seq for o in store.operations("r1")] == [0]


def test_the_lease_is_valid_up_to_and_including_its_expiry(store: Store) -> None:
    claimed(store)
    store.commit("r1", Checkpoint(**FENCED_WRITE), lease_owner="w1", now=at(LEASE))
    assert len(store.history("r1")) == 1


@pytest.mark.parametrize("case", ["wrong-owner", "expired", "no-lease", "released"])
def test_a_fenced_commit_without_the_lease_raises_and_writes_nothing(
    store: Store, case: str
) -> None:
    if case == "no-lease":
        store.create_run(run("r1"), [])
    else:
        claimed(store)
    store.commit("r1", Checkpoint(operations=[op(9)], history=[entry("run_started")]))
    if case == "released":
        store.release("w1", "r1")
    event = store.add_event("r1", "approval", "{}", at(1))
    before = snapshot(store)
    owner, now = (
        ("w2", at(5))
        if case == "wrong-owner"
        else ("w1", at(LEASE + 0.000001))
        if case == "expired"
        else ("w1", at(5))
    )
    with pytest.raises(LeaseLost) as lost:
        store.commit(
            "r1",
            Checkpoint(**FENCED_WRITE, consume_event=(event.id, 1), release_lease=True),
            lease_owner=owner,
            now=now,
        )
    assert lost.value.run_id == "r1" and lost.value.owner == owner
    assert snapshot(store) == before
    assert store.pending_events("r1", "approval") == [event]


def test_a_fenced_commit_that_changes_no_run_field_is_still_fenced(store: Store) -> None:
    claimed(store)
    only_rows = Checkpoint(operations=[op(0)], history=[entry("step_completed", seq=0)])
    with pytest.raises(LeaseLost):
        store.commit("r1", only_rows, lease_owner="w2", now=at(1))
    with pytest.raises(LeaseLost):
        store.commit("r1", only_rows, lease_owner="w1", now=at(LEASE + 1))
    assert store.operations("r1") == [] and store.history("r1") == []
    store.commit("r1", only_rows, lease_owner="w1", now=at(1))
    assert len(store.operations("r1")) == 1 and len(store.history("r1")) == 1


def test_a_commit_without_lease_owner_is_not_fenced(store: Store) -> None:
    claimed(store)
    store.commit("r1", Checkpoint(run={"cancel_requested": True}))
    got = store.get_run("r1")
    assert got.cancel_requested and got.lease_owner == "w1"


def test_release_lease_in_a_commit_clears_the_lease(store: Store) -> None:
    claimed(store)
    store.commit(
        "r1",
        Checkpoint(run={"status": RunStatus.SLEEPING, "wake_at": at(60)}, release_lease=True),
        lease_owner="w1",
        now=at(1),
    )
    got = store.get_run("r1")
    assert (got.lease_owner, got.lease_expires_at, got.status) == (None, None, RunStatus.SLEEPING)
    assert [r.id for r in store.claim("w2", at(60), at(90))] == ["r1"]


# -- events ------------------------------------------------------------------------------------
def test_add_event_returns_the_stored_event(store: Store) -> None:
    store.create_run(run("r1"), [])
    first = store.add_event("r1", "approval", '{"ok":true}', at(1))
    second = store.add_event("r1", "approval", '{"ok":false}', at(2))
    assert (first.run_id, first.name, first.payload, first.sent_at, first.consumed_seq) == (
        "r1",
        "approval",
        '{"ok":true}',
        at(1),
        None,
    )
    assert second.id > first.id
    assert first.sent_at.utcoffset() == timedelta(0)


def test_pending_events_by_run_and_name_oldest_first_unconsumed_only(store: Store) -> None:
    store.create_run(run("r1"), [])
    store.create_run(run("r2"), [])
    a = store.add_event("r1", "approval", '"a"', at(1))
    store.add_event("r2", "approval", '"other run"', at(2))
    store.add_event("r1", "cancel", '"other name"', at(3))
    b = store.add_event("r1", "approval", '"b"', at(4))
    c = store.add_event("r1", "approval", '"c"', at(5))
    assert store.pending_events("r1", "approval") == [a, b, c]
    store.commit("r1", Checkpoint(consume_event=(b.id, 3)))
    assert store.pending_events("r1", "approval") == [a, c]
    assert store.pending_events("r1", "nothing") == []


def test_add_event_wakes_a_waiting_run_only(store: Store) -> None:
    store.create_run(run("waiting", status=RunStatus.WAITING, wake_at=at(3600)), [])
    store.create_run(run("forever", status=RunStatus.WAITING), [])
    store.create_run(run("sleeping", status=RunStatus.SLEEPING, wake_at=at(3600)), [])
    store.create_run(run("done", status=RunStatus.COMPLETED), [])
    for run_id in ("waiting", "forever", "sleeping", "done"):
        store.add_event(run_id, "approval", "{}", at(10))
    assert store.get_run("waiting").wake_at == at(10)
    assert store.get_run("forever").wake_at == at(10)
    assert store.get_run("sleeping").wake_at == at(3600)
    assert store.get_run("done").wake_at is None
    assert sorted(r.id for r in store.claim("w1", at(10), at(40), limit=10)) == [
        "forever",
        "waiting",
    ]


def test_wake_on_events_wakes_a_parking_run_if_its_event_already_arrived(store: Store) -> None:
    claimed(store)
    consumed = store.add_event("r1", "approval", '"old"', at(1))  # running: no wake-up
    store.commit("r1", Checkpoint(consume_event=(consumed.id, 0)))
    park = dict(
        run={"status": RunStatus.WAITING, "wake_at": at(3600)},
        release_lease=True,
        wake_on_events=["approval"],
    )
    store.commit("r1", Checkpoint(**park), lease_owner="w1", now=at(2))
    assert store.get_run("r1").wake_at == at(3600)  # nothing unconsumed: waits for its deadline

    store.claim("w1", at(3600), at(3630), run_id="r1")
    store.add_event("r1", "other", "{}", at(3601))
    store.add_event("r1", "approval", '"new"', at(3602))  # arrives while the run is running
    store.commit("r1", Checkpoint(**park), lease_owner="w1", now=at(3603))
    assert store.get_run("r1").wake_at == at(3603)  # woken at commit time, not lost
    assert [r.id for r in store.claim("w2", at(3603), at(3633))] == ["r1"]


def test_an_event_consumed_by_the_parking_commit_does_not_wake_it(store: Store) -> None:
    claimed(store)
    event = store.add_event("r1", "approval", "{}", at(1))
    store.commit(
        "r1",
        Checkpoint(
            run={"status": RunStatus.WAITING, "wake_at": at(99)},
            consume_event=(event.id, 0),
            wake_on_events=["approval"],
            release_lease=True,
        ),
        lease_owner="w1",
        now=at(2),
    )
    assert store.get_run("r1").wake_at == at(99)


def test_send_events_are_written_with_the_checkpoint_and_wake_a_waiting_run(store: Store) -> None:
    store.create_run(run("parent", status=RunStatus.WAITING), [])
    claimed(store, "child")
    store.commit(
        "child",
        Checkpoint(
            run={"status": RunStatus.COMPLETED},
            release_lease=True,
            send_events=[("parent", "wfkit.child:3", "null")],
        ),
        lease_owner="w1",
        now=at(5),
    )
    assert store.get_run("child").status == RunStatus.COMPLETED
    [note] = store.pending_events("parent", "wfkit.child:3")
    assert (note.run_id, note.payload, note.sent_at) == ("parent", "null", at(5))
    assert store.get_run("parent").wake_at == at(5)


def test_send_events_are_not_written_when_the_checkpoint_is_refused(store: Store) -> None:
    store.create_run(run("parent", status=RunStatus.WAITING), [])
    claimed(store, "child")
    with pytest.raises(LeaseLost):
        store.commit(
            "child",
            Checkpoint(
                run={"status": RunStatus.COMPLETED},
                send_events=[("parent", "wfkit.child:3", "null")],
            ),
            lease_owner="someone-else",
            now=at(5),
        )
    assert store.pending_events("parent", "wfkit.child:3") == []
    assert store.get_run("parent").wake_at is None


def test_a_commit_unless_cancelled_writes_nothing_once_the_cancel_is_requested(
    store: Store,
) -> None:
    claimed(store)
    store.commit("r1", Checkpoint(run={"cancel_requested": True}))
    with pytest.raises(CancelRequested):
        store.commit(
            "r1",
            Checkpoint(
                run={"status": RunStatus.COMPLETED},
                release_lease=True,
                history=[entry("run_completed")],
                unless_cancelled=True,
            ),
            lease_owner="w1",
            now=at(1),
        )
    stored = store.get_run("r1")
    assert stored.status != RunStatus.COMPLETED and stored.lease_owner == "w1"
    assert [e.type for e in store.history("r1")] == []


def test_a_commit_unless_cancelled_writes_when_no_cancel_was_requested(store: Store) -> None:
    claimed(store)
    assert (
        store.commit(
            "r1",
            Checkpoint(run={"status": RunStatus.COMPLETED}, unless_cancelled=True),
            lease_owner="w1",
            now=at(1),
        )
        is False
    )
    assert store.get_run("r1").status == RunStatus.COMPLETED


def test_a_lost_lease_is_still_a_lost_lease_unless_cancelled(store: Store) -> None:
    claimed(store)
    with pytest.raises(LeaseLost):
        store.commit(
            "r1",
            Checkpoint(run={"status": RunStatus.COMPLETED}, unless_cancelled=True),
            lease_owner="w2",
            now=at(1),
        )


# -- claim -------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(RunStatus, key=str))
def test_claim_takes_active_runs_and_due_parked_runs(store: Store, status: RunStatus) -> None:
    store.create_run(run("due", status=status, wake_at=at(10)), [])
    store.create_run(run("later", status=status, wake_at=at(11)), [])
    store.create_run(run("no-wake", status=status), [])
    got = sorted(r.id for r in store.claim("w1", at(10), at(40), limit=10))
    if status in ACTIVE:
        assert got == ["due", "no-wake"]  # an active run waits out a future wake_at
    elif status in PARKED:
        assert got == ["due"]  # a parked run needs a due wake_at
    else:  # a QUEUED run waits for a dequeue (tests/store/test_queue_contract.py)
        assert (status in TERMINAL or status == RunStatus.QUEUED) and got == []


def test_claim_leases_and_returns_the_state_before_the_claim(store: Store) -> None:
    store.create_run(run("r1"), [])
    (got,) = store.claim("w1", at(0), at(LEASE))
    assert got == run("r1")
    stored = store.get_run("r1")
    assert (stored.lease_owner, stored.lease_expires_at) == ("w1", at(LEASE))
    assert replace(stored, lease_owner=None, lease_expires_at=None) == run("r1")


def test_a_live_lease_blocks_other_claims(store: Store) -> None:
    claimed(store, owner="w1")
    assert store.claim("w2", at(1), at(31)) == []
    assert store.claim("w2", at(LEASE), at(60)) == []  # still live at its expiry instant
    assert store.claim("w1", at(1), at(31)) == []  # claim never re-leases a held run


def test_an_expired_lease_is_taken_over_and_the_claim_shows_the_old_owner(store: Store) -> None:
    claimed(store, owner="w1")
    store.commit("r1", Checkpoint(run={"status": RunStatus.RUNNING}), lease_owner="w1", now=at(1))
    (got,) = store.claim("w2", at(LEASE + 1), at(LEASE + 31))
    assert (got.lease_owner, got.lease_expires_at, got.status) == (
        "w1",
        at(LEASE),
        RunStatus.RUNNING,
    )
    assert store.get_run("r1").lease_owner == "w2"
    with pytest.raises(LeaseLost):
        store.commit(
            "r1", Checkpoint(run={"updated_at": at(40)}), lease_owner="w1", now=at(LEASE + 2)
        )


def test_claim_limit_and_order_by_due_time(store: Store) -> None:
    store.create_run(run("c", created=3), [])
    store.create_run(run("a", created=1), [])
    store.create_run(run("s", created=0, status=RunStatus.SLEEPING, wake_at=at(2)), [])
    store.create_run(run("b", created=2), [])
    # Due time: wake_at, else created_at; ties by created_at, then id.
    assert [r.id for r in store.claim("w1", at(10), at(40), limit=2)] == ["a", "s"]
    assert [r.id for r in store.claim("w2", at(10), at(40), limit=5)] == ["b", "c"]
    assert store.claim("w3", at(10), at(40), limit=5) == []


def test_claim_run_id_restricts_the_claim(store: Store) -> None:
    store.create_run(run("a", created=1), [])
    store.create_run(run("b", created=2), [])
    assert [r.id for r in store.claim("w1", at(0), at(30), run_id="b", limit=5)] == ["b"]
    assert store.claim("w1", at(0), at(30), run_id="b") == []
    assert store.claim("w1", at(0), at(30), run_id="nope") == []
    assert store.get_run("a").lease_owner is None


def test_claim_workflows_filter(store: Store) -> None:
    store.create_run(run("a", workflow="orders", created=1), [])
    store.create_run(run("b", workflow="etl", created=2), [])
    store.create_run(run("c", workflow="mail", created=3), [])
    assert store.claim("w1", at(0), at(30), workflows=[]) == []
    assert [
        r.id
        for r in store.claim("w1", at(0), at(30), limit=5, workflows=["etl", "mail", "unknown"])
    ] == ["b", "c"]
    assert [r.id for r in store.claim("w1", at(0), at(30), limit=5)] == ["a"]


# -- heartbeat / release / next_wake ---------------------------------------------------------
def test_heartbeat_extends_only_live_leases_of_the_owner(store: Store) -> None:
    claimed(store, "mine", "w1", now=0)
    claimed(store, "theirs", "w2", now=0)
    claimed(store, "lapsed", "w1", now=-LEASE - 5)
    assert store.heartbeat("w1", ["mine", "theirs", "lapsed", "nope"], at(60), at(1)) == {"mine"}
    assert store.get_run("mine").lease_expires_at == at(60)
    assert store.get_run("theirs").lease_expires_at == at(LEASE)
    assert store.get_run("lapsed").lease_expires_at == at(-5)
    assert store.heartbeat("w1", [], at(60), at(1)) == set()


def test_release_drops_only_the_owners_lease(store: Store) -> None:
    claimed(store, "r1", "w1")
    store.release("w2", "r1")
    assert store.get_run("r1").lease_owner == "w1"
    store.release("w1", "r1")
    got = store.get_run("r1")
    assert (got.lease_owner, got.lease_expires_at) == (None, None)
    store.release("w1", "nope")  # unknown runs are fine
    assert [r.id for r in store.claim("w2", at(1), at(31))] == ["r1"]


def test_next_wake_is_the_earliest_wake_of_a_live_run(store: Store) -> None:
    assert store.next_wake() is None
    store.create_run(run("pending"), [])
    assert store.next_wake() is None
    store.create_run(run("done", status=RunStatus.COMPLETED, wake_at=at(1)), [])
    store.create_run(run("sleeping", status=RunStatus.SLEEPING, wake_at=at(50)), [])
    store.create_run(run("waiting", status=RunStatus.WAITING, wake_at=at(40)), [])
    assert store.next_wake() == at(40)
    store.create_run(run("retrying", status=RunStatus.RUNNING, wake_at=at(30)), [])
    assert store.next_wake() == at(30)
    assert store.next_wake().utcoffset() == timedelta(0)


# -- threads ------------------------------------------------------------------------------------
def test_threads_share_a_store(store: Store) -> None:
    """Workflow threads commit while a heartbeat thread runs: no error, no lost write (a
    failure inside any thread fails the test)."""
    ids = [f"r{i}" for i in range(4)]
    for run_id in ids:
        store.create_run(run(run_id), [])
    assert len(store.claim("w1", at(0), at(30), limit=4)) == 4
    stop = threading.Event()
    failures: list[BaseException] = []

    def guarded(body: Callable[[], None]) -> Callable[[], None]:
        def run_body() -> None:
            try:
                body()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        return run_body

    def beat() -> None:
        while not stop.is_set():
            assert store.heartbeat("w1", ids, at(30), at(1)) == set(ids)

    def work(run_id: str) -> None:
        for i in range(30):
            store.commit(
                run_id,
                Checkpoint(
                    run={"updated_at": at(i)},
                    operations=[op(i, run_id)],
                    history=[entry("step", run_id, seq=i)],
                ),
                lease_owner="w1",
                now=at(1),
            )

    heart = threading.Thread(target=guarded(beat))
    heart.start()
    workers = [threading.Thread(target=guarded(lambda r=run_id: work(r))) for run_id in ids]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    heart.join()
    assert failures == []
    for run_id in ids:
        assert [e.index for e in store.history(run_id)] == list(range(30))
        assert len(store.operations(run_id)) == 30


# -- retention: prunable_runs / delete_runs -----------------------------------------------------
FINISHED = {RunStatus.COMPLETED, RunStatus.COMPENSATED, RunStatus.CANCELLED}


def finished(
    store: Store, run_id: str, status: RunStatus, at_second: float, parent: str | None = None
) -> None:
    """A run with an operation, history and an event, ended ``status`` at ``at_second``."""
    store.create_run(
        run(run_id, parent_id=parent, parent_seq=1 if parent else None),
        [entry("run_started", run_id)],
    )
    store.add_event(run_id, "ping", "{}", at(at_second))
    store.commit(
        run_id,
        Checkpoint(
            run={"status": status, "finished_at": at(at_second) if status.terminal else None},
            operations=[op(1, run_id)],
            history=[entry("run_ended", run_id, when=at_second)],
        ),
    )


def test_old_finished_runs_are_prunable_oldest_first_and_live_families_are_kept(
    store: Store,
) -> None:
    finished(store, "done-late", RunStatus.COMPLETED, 50)
    finished(store, "done-early", RunStatus.COMPENSATED, 10)
    finished(store, "cancelled", RunStatus.CANCELLED, 20)
    finished(store, "failed", RunStatus.FAILED, 10)  # needs a person: not asked for
    finished(store, "too-new", RunStatus.COMPLETED, 200)
    finished(store, "running", RunStatus.RUNNING, 10)
    finished(store, "parent-live", RunStatus.WAITING, 10)
    finished(store, "child-of-live", RunStatus.COMPLETED, 10, parent="parent-live")
    finished(store, "parent-done", RunStatus.COMPLETED, 10)
    finished(store, "child-live", RunStatus.RUNNING, 10, parent="parent-done")
    assert store.prunable_runs(at(100), FINISHED) == ["done-early", "cancelled", "done-late"]
    assert store.prunable_runs(at(100), {RunStatus.FAILED}) == ["failed"]


def test_delete_runs_removes_everything_of_a_run_and_nothing_else(store: Store) -> None:
    finished(store, "old", RunStatus.COMPLETED, 10)
    finished(store, "keep", RunStatus.COMPLETED, 10)
    kept = snapshot(store, "keep")
    assert store.delete_runs(["old", "missing", "old"], at(100), FINISHED) == ["old"]
    assert store.get_run("old") is None
    assert store.operations("old") == [] and store.history("old") == []
    assert store.pending_events("old", "ping") == []
    assert snapshot(store, "keep") == kept
    assert [e.run_id for e in store.pending_events("keep", "ping")] == ["keep"]
    # The id can be used again, for a run with nothing of the old one's.
    store.create_run(run("old"), [entry("run_started", "old")])
    assert store.operations("old") == [] and [e.type for e in store.history("old")] == [
        "run_started"
    ]
    event = store.add_event("old", "ping", "{}", at(5))
    assert event.id not in {e.id for e in store.pending_events("keep", "ping")}


def test_delete_runs_checks_again_and_keeps_a_run_that_is_live_again(store: Store) -> None:
    finished(store, "f", RunStatus.FAILED, 10)
    [listed] = store.prunable_runs(at(100), {RunStatus.FAILED})
    store.commit("f", Checkpoint(run={"status": RunStatus.PENDING, "finished_at": None}))
    assert store.delete_runs([listed], at(100), {RunStatus.FAILED}) == []
    assert store.get_run("f") is not None and len(store.operations("f")) == 1


def test_only_finished_statuses_can_be_pruned(store: Store) -> None:
    with pytest.raises(ValueError, match="only finished runs"):
        store.prunable_runs(at(100), {RunStatus.RUNNING})
    with pytest.raises(ValueError, match="WAITING"):
        store.delete_runs(["r1"], at(100), {RunStatus.COMPLETED, RunStatus.WAITING})
