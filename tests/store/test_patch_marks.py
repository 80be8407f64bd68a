"""``Store.patch_marks``: the version-gate markers of every run, on every backend, in the one
order the protocol promises (workflow, patch id, the run's start, run id, marker time)."""

from __future__ import annotations

from store_records import at, op, run

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, PatchMark, Store


def mark(seq: int, run_id: str, patch_id: str, when: float) -> object:
    return op(
        seq, run_id, kind=OpKind.PATCH, name=patch_id, status=OpStatus.COMPLETED,
        started_at=at(when), finished_at=at(when),
    )  # fmt: skip


def test_patch_marks_lists_every_marker_with_its_run(store: Store) -> None:
    store.create_run(run("b-run", workflow="order", created=20), [])
    store.create_run(run("a-run", workflow="order", created=10, status=RunStatus.COMPLETED), [])
    store.create_run(run("c-run", workflow="billing", created=30), [])
    store.commit("b-run", Checkpoint(operations=[op(1, "b-run"), mark(2, "b-run", "g1", 21)]))
    store.commit("a-run", Checkpoint(operations=[mark(1, "a-run", "g1", 11), op(2, "a-run")]))
    store.commit("c-run", Checkpoint(operations=[mark(1, "c-run", "z", 31)]))
    # a gate in a loop marks each pass
    store.commit("c-run", Checkpoint(operations=[op(2, "c-run"), mark(3, "c-run", "z", 32)]))
    assert store.patch_marks() == [
        PatchMark("billing", "z", "c-run", RunStatus.PENDING, at(30), at(31)),
        PatchMark("billing", "z", "c-run", RunStatus.PENDING, at(30), at(32)),
        PatchMark("order", "g1", "a-run", RunStatus.COMPLETED, at(10), at(11)),
        PatchMark("order", "g1", "b-run", RunStatus.PENDING, at(20), at(21)),
    ]


def test_patch_marks_of_a_store_without_markers_is_empty(store: Store) -> None:
    assert store.patch_marks() == []
    store.create_run(run("r1"), [])
    store.commit("r1", Checkpoint(operations=[op(1), op(2, kind=OpKind.SLEEP, name="sleep")]))
    assert store.patch_marks() == []


def test_patch_marks_follow_deleted_runs(store: Store) -> None:
    store.create_run(run("r1", status=RunStatus.COMPLETED), [])
    store.commit("r1", Checkpoint(operations=[mark(1, "r1", "g", 1)], run={"finished_at": at(2)}))
    assert [m.run_id for m in store.patch_marks()] == ["r1"]
    assert store.delete_runs(["r1"], at(10), [RunStatus.COMPLETED]) == ["r1"]
    assert store.patch_marks() == []
