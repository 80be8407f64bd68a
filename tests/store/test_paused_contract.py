"""Pause in the store contract, the same on memory, SQLite and PostgreSQL: claim() passes a
paused run and every run of a paused workflow by, next_wake() ignores them, a commit's flag
says "stop" for a cancel or either pause."""

from __future__ import annotations

from store_records import at, run

from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Checkpoint, Store

LEASE = 30


def test_claim_and_next_wake_pass_paused_runs_by(store: Store) -> None:
    store.create_run(run("r1", paused=True), [])
    store.create_run(run("r2", status=RunStatus.SLEEPING, wake_at=at(5), paused=True), [])
    assert store.get_run("r1").paused is True  # type: ignore[union-attr]
    assert store.claim("w1", at(10), at(10 + LEASE)) == []
    assert store.next_wake() is None
    store.commit("r2", Checkpoint(run={"paused": False}))
    assert store.next_wake() == at(5)
    assert [r.id for r in store.claim("w1", at(10), at(10 + LEASE))] == ["r2"]


def test_a_paused_workflow_holds_its_runs_old_and_new(store: Store) -> None:
    store.create_run(run("old", workflow="billing"), [])
    store.create_run(run("other", workflow="mail"), [])
    assert store.set_workflow_paused("billing", True, at(1)) is True
    assert store.set_workflow_paused("billing", True, at(2)) is False  # nothing written
    store.create_run(run("new", workflow="billing"), [])
    assert store.paused_workflows() == {"billing": at(1)}
    claimed = store.claim("w1", at(3), at(3 + LEASE), limit=10)
    assert [r.id for r in claimed] == ["other"]
    assert store.set_workflow_paused("billing", False, at(4)) is True
    assert store.set_workflow_paused("billing", False, at(5)) is False
    assert store.paused_workflows() == {}
    claimed = store.claim("w1", at(6), at(6 + LEASE), limit=10)
    assert sorted(r.id for r in claimed) == ["new", "old"]


def test_a_commit_flags_a_pause_of_the_run_or_its_workflow(store: Store) -> None:
    store.create_run(run("r1"), [])
    (held,) = store.claim("w1", at(0), at(LEASE), run_id="r1")
    fenced = {"lease_owner": "w1", "now": at(1)}
    assert store.commit("r1", Checkpoint(run={"updated_at": at(1)}), **fenced) is False
    store.commit("r1", Checkpoint(run={"paused": True}))  # unfenced, as engine.pause writes
    assert store.commit("r1", Checkpoint(), **fenced) is True
    store.commit("r1", Checkpoint(run={"paused": False}))
    assert store.commit("r1", Checkpoint(), **fenced) is False
    store.set_workflow_paused("wf", True, at(2))
    assert store.commit("r1", Checkpoint(run={"updated_at": at(2)}), **fenced) is True
    assert held.paused is False and store.get_run("r1").cancel_requested is False  # type: ignore[union-attr]


def test_a_commit_can_bind_a_new_input(store: Store) -> None:
    """retry --input writes the run's input through commit: every store keeps the new one."""
    store.create_run(run("r1", status=RunStatus.FAILED), [])
    new = '{"args": [], "kwargs": {"n": 99}}'
    store.commit("r1", Checkpoint(run={"input": new, "status": RunStatus.PENDING}))
    stored = store.get_run("r1")
    assert stored is not None and (stored.input, stored.status) == (new, RunStatus.PENDING)
