"""A version gate's lifecycle on PostgreSQL: ``Engine.patches()`` and ``wfkit patches`` read
the same runs in flight as on SQLite (tests/engine/test_patches.py, tests/cli)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from patch_flows import finish, populate

from wfkit.engine.clock import ManualClock
from wfkit.engine.patches import GateVerdict

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_patches_on_postgres(postgres_database: Any, user_code_dir, run_wfkit) -> None:
    url = postgres_database.new_url()
    v1, v2 = populate(url, user_code_dir, ManualClock(T0))
    try:
        by_gate = {(r.workflow, r.patch_id): r for r in v2.patches([("later", "late-gate")])}
        fast = by_gate[("order", "fast-shipping")]
        assert (fast.marked, fast.needs_old_branch, fast.oldest_needing) == (1, 1, T0)
        assert fast.verdict is GateVerdict.OLD_BRANCH_NEEDED
        assert by_gate[("later", "late-gate")].needs_old_branch == 1

        code, out, err = run_wfkit("patches", "--store", url, "flows.py", "--format", "json")
        assert code == 0, err
        rows = {g["patch_id"]: g for g in json.loads(out)["gates"]}
        assert rows["fast-shipping"]["verdict"] == "old-branch-needed"
        assert rows["fast-shipping"]["oldest_needing"] == "2026-01-01T00:00:00+00:00"

        assert finish(v2, "old-1") == "done" and finish(v2, "new-1") == "done"
        (fast,) = v2.patches(workflows=["order"])
        assert fast.verdict is GateVerdict.REMOVE_GATE
        code, out, _ = run_wfkit("patches", "--store", url, "flows.py")
        assert code == 0 and "order  fast-shipping" in out and "safe to remove the gate" in out
    finally:
        v1.close()
        v2.close()
