"""``Engine.patches()``: per version gate, the runs in flight that recorded its marker or may
still replay its old branch, and the verdict, through a gate's whole lifecycle (runs recorded
by the old code, by the new code, parked before and after the gate)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from patch_flows import finish, populate

from wfkit.engine.clock import ManualClock
from wfkit.engine.patches import GateVerdict
from wfkit.engine.status import OpKind
from wfkit.engine.store.memory import MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else f"sqlite:///{tmp_path}/wf.db"


def counts(report):
    return (report.marked, report.needs_old_branch, report.may_reach, report.verdict)


def test_a_gate_goes_from_old_branch_needed_to_removable(store, user_code_dir):
    v1, v2 = populate(store, user_code_dir, ManualClock(T0))
    try:
        by_gate = {(r.workflow, r.patch_id): r for r in v2.patches()}
        fast = by_gate[("order", "fast-shipping")]
        assert counts(fast) == (1, 1, 0, GateVerdict.OLD_BRANCH_NEEDED)
        assert fast.oldest_needing == T0 and fast.first_marked_at.hour == 1
        assert fast.summary == (
            "old branch still needed (1 run, oldest started 2026-01-01T00:00:00+00:00)"
        )
        # later-1 is parked before late-gate, which no run has passed: it may need the old
        # branch (an upper bound: it takes the new one when it passes, below)
        assert ("later", "late-gate") not in by_gate  # the store has no marker for it yet
        (late,) = v2.patches([("later", "late-gate")], workflows=["later"])
        assert counts(late) == (0, 1, 0, GateVerdict.OLD_BRANCH_NEEDED)

        # the old run replays the old branch on the new code, and finishes
        assert finish(v2, "old-1") == "done"
        assert [(op.kind, op.name) for op in v2.operations("old-1")][:2] == [
            (OpKind.STEP, "reserve"),
            (OpKind.STEP, "ship"),
        ]
        (fast,) = v2.patches([("order", "fast-shipping")], workflows=["order"])
        assert counts(fast) == (1, 0, 0, GateVerdict.DELETE_OLD_BRANCH)
        assert fast.summary == (
            "safe to delete the old branch; keep the gate (1 run recorded the marker)"
        )

        # the marked run finishes: nothing in flight needs the call any more
        assert finish(v2, "new-1") == "done"
        (fast,) = v2.patches([("order", "fast-shipping")], workflows=["order"])
        assert counts(fast) == (0, 0, 0, GateVerdict.REMOVE_GATE)
        assert fast.summary == "safe to remove the gate"
    finally:
        v1.close()
        v2.close()


def test_runs_started_after_the_first_marker_may_still_pass_the_gate(store, user_code_dir):
    clock = ManualClock(T0)
    v1, v2 = populate(store, user_code_dir, clock)
    try:
        later = v2.workflows["later"]
        assert finish(v2, "later-1") == "ok"  # passes late-gate: the first marker
        clock.advance(60)
        v2.start(later, workflow_id="later-2")
        v2.work_once("later-2")  # parked before the gate, started after it existed
        (late,) = v2.patches([("later", "late-gate")], workflows=["later"])
        assert counts(late) == (0, 0, 1, GateVerdict.DELETE_OLD_BRANCH)
        assert "1 run may still pass it" in late.summary
        assert finish(v2, "later-2") == "ok"
        (late,) = v2.patches([("later", "late-gate")], workflows=["later"])
        assert counts(late) == (0, 0, 0, GateVerdict.REMOVE_GATE)
    finally:
        v1.close()
        v2.close()


def test_gates_come_from_the_store_and_from_the_caller_in_a_stable_order(store, user_code_dir):
    v1, v2 = populate(store, user_code_dir, ManualClock(T0))
    try:
        reports = v2.patches([("zeta", "never-reached"), ("later", "late-gate")])
        assert [(r.workflow, r.patch_id) for r in reports] == [
            ("later", "late-gate"),
            ("order", "fast-shipping"),
            ("zeta", "never-reached"),
        ]
        # a workflow with no run at all: nothing can need anything
        assert counts(reports[2]) == (0, 0, 0, GateVerdict.REMOVE_GATE)
        # workflows: only the gates of these workflows (stored or given)
        assert [r.patch_id for r in v2.patches([("zeta", "x")], workflows=["zeta"])] == ["x"]
        assert [r.patch_id for r in v2.patches(workflows=["order"])] == ["fast-shipping"]
    finally:
        v1.close()
        v2.close()
