"""``wfkit patches`` end to end: gates read from real files (never imported by the command),
runs in flight in a real SQLite store recorded by the old and the new code, text and JSON
output, and every bad input as one line with exit 2."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from datetime import datetime, timezone

import pytest
from patch_flows import V2, finish, populate

from wfkit.engine.clock import ManualClock

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def store_url(user_code_dir):
    """A store holding old-1 (recorded past the gate by v1), new-1 (marked) and later-1
    (parked before a gate no run passed), the engines closed: only the file remains."""
    url = f"sqlite:///{user_code_dir}/wfkit.db"
    for engine in populate(url, user_code_dir, ManualClock(T0)):
        engine.close()
    return url


def gates(out: str) -> dict[tuple[str, str], dict]:
    document = json.loads(out)
    assert document["version"] == 1
    return {(g["workflow"], g["patch_id"]): g for g in document["gates"]}


def test_json_reports_each_gate_of_the_code_with_the_runs_in_flight(run_wfkit, store_url):
    code, out, err = run_wfkit("patches", "--store", store_url, "flows.py", "--format", "json")
    assert code == 0, err
    found = gates(out)
    assert sorted(found) == [("later", "late-gate"), ("order", "fast-shipping")]
    line = 1 + V2[: V2.index('ctx.patched("fast-shipping")')].count("\n")
    assert found[("order", "fast-shipping")] == {
        "workflow": "order",
        "patch_id": "fast-shipping",
        "in_code": True,
        "breaks_runs": False,
        "locations": [f"flows.py:{line}"],
        "marked": 1,
        "needs_old_branch": 1,
        "may_reach": 0,
        "oldest_needing": "2026-01-01T00:00:00+00:00",
        "first_marked_at": "2026-01-01T01:00:00+00:00",
        "verdict": "old-branch-needed",
        "summary": "old branch still needed (1 run, oldest started 2026-01-01T00:00:00+00:00)",
    }
    late = found[("later", "late-gate")]
    assert (late["marked"], late["needs_old_branch"], late["first_marked_at"]) == (0, 1, None)
    assert json.loads(out)["problems"] == []


def test_text_output_follows_the_runs_to_the_end_of_the_gate(run_wfkit, store_url, user_code_dir):
    code, out, _ = run_wfkit("patches", "--store", store_url, "flows.py")
    assert code == 0
    assert out.splitlines()[1].startswith("order  fast-shipping  flows.py:")
    assert out.splitlines()[1].endswith(
        "old branch still needed (1 run, oldest started 2026-01-01T00:00:00+00:00)"
    )
    # the old run finishes on the new code, then the marked one
    from wfkit.engine.engine import Engine
    from wfkit.engine.loader import load_workflow

    order = load_workflow(f"{user_code_dir / 'flows.py'}:order")
    with Engine(store_url, workflows=[order], clock=ManualClock(T0)) as engine:
        assert finish(engine, "old-1") == "done"
        out_after_old = run_wfkit("patches", "--store", store_url, "flows.py")[1]
        assert finish(engine, "new-1") == "done"
        out_after_new = run_wfkit("patches", "--store", store_url, "flows.py")[1]
    assert out_after_old.splitlines()[1].endswith(
        "safe to delete the old branch; keep the gate (1 run recorded the marker)"
    )
    assert out_after_new.splitlines()[1].endswith("safe to remove the gate")


def test_without_paths_the_current_directory_and_every_stored_gate(run_wfkit, store_url):
    code, out, _ = run_wfkit("--store", store_url, "patches", "--format", "json")
    assert code == 0
    found = gates(out)
    assert found[("order", "fast-shipping")]["locations"][0].startswith("flows.py:")
    assert found[("later", "late-gate")]["in_code"] is True


def test_a_gate_dropped_from_the_code_while_runs_recorded_it(run_wfkit, store_url, user_code_dir):
    (user_code_dir / "flows_v3.py").write_text(
        V2.replace('if ctx.patched("fast-shipping"):', "if True:")
    )
    code, out, _ = run_wfkit("patches", "--store", store_url, "flows_v3.py", "--format", "json")
    assert code == 1  # deploying this code breaks runs in flight
    dropped = gates(out)[("order", "fast-shipping")]
    assert dropped["in_code"] is False and dropped["locations"] == []
    assert dropped["breaks_runs"] is True
    assert dropped["summary"].startswith(
        "removed from the code, but 2 run(s) in flight need it"  # new-1 marked, old-1 old
    )
    assert gates(out)[("later", "late-gate")]["breaks_runs"] is False
    # once those runs finished, the same code is fine
    from wfkit.engine.engine import Engine
    from wfkit.engine.loader import load_workflow

    order = load_workflow(f"{user_code_dir / 'flows.py'}:order")
    with Engine(store_url, workflows=[order], clock=ManualClock(T0)) as engine:
        finish(engine, "old-1")
        finish(engine, "new-1")
    code, out, _ = run_wfkit("patches", "--store", store_url, "flows_v3.py")
    assert code == 0
    assert re.search(
        r"^order  fast-shipping  -\s+safe to remove the gate \(not in the code read\)$", out, re.M
    )


def test_a_file_that_does_not_parse_is_reported_and_the_rest_read(
    run_wfkit, store_url, user_code_dir
):
    (user_code_dir / "broken.py").write_text("def patched(:\n")
    (user_code_dir / "computed.py").write_text(
        textwrap.dedent(
            """
            from wfkit import Context, workflow

            GATE = "dynamic"

            @workflow(name="computed")
            def computed(ctx: Context) -> str:
                if ctx.patched(GATE):
                    return "new"
                return "old"
            """
        )
    )
    code, out, err = run_wfkit("patches", "--store", store_url, "--format", "json")
    assert code == 0
    assert ("order", "fast-shipping") in gates(out)
    problems = json.loads(out)["problems"]
    assert any(p.startswith("broken.py:1:") and "syntax error" in p for p in problems)
    assert any(
        "computed.py" in p and "cannot tell the id of gate patched(GATE)" in p for p in problems
    )
    assert "broken.py:1:" in err


def test_the_command_never_imports_the_code(run_wfkit, store_url, user_code_dir):
    (user_code_dir / "flows.py").write_text("raise SystemExit('imported!')\n" + V2)
    sys.modules.pop("flows", None)  # populate loaded it to record the runs
    code, out, _ = run_wfkit("patches", "--store", store_url, "flows.py", "--format", "json")
    assert code == 0 and ("order", "fast-shipping") in gates(out)
    assert not any(name == "flows" for name in sys.modules)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "nope://x"], "unknown store URL scheme 'nope'"),
        (["--store", "sqlite:///{dir}/missing.db"], "missing.db"),
        (
            ["--store", "sqlite:///{dir}/wfkit.db", "no/such/path.py"],
            "path no/such/path.py does not exist",
        ),
        (["--store", "sqlite:///{dir}/wfkit.db", "--format", "xml"], "'xml' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_wfkit, store_url, user_code_dir, argv, message):
    code, out, err = run_wfkit("patches", *[a.format(dir=user_code_dir) for a in argv])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_gates_in_helpers_negated_assigned_and_long_ids(run_wfkit, store_url, user_code_dir):
    package = user_code_dir / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(
        textwrap.dedent(
            """
            from wfkit import Context


            def maybe_gift_wrap(ctx: Context) -> None:
                if ctx.patched("gift-wrap"):
                    ctx.sleep(1)
            """
        )
    )
    long_id = "a-rather-long-patch-identifier-for-the-new-invoice-layout"
    (package / "checkout.py").write_text(
        textwrap.dedent(
            f"""
            from wfkit import Context, step, workflow

            from shop.helpers import maybe_gift_wrap


            @step
            def pay() -> str:
                return "paid"


            @workflow(name="checkout")
            def checkout(ctx: Context) -> str:
                maybe_gift_wrap(ctx)
                if not ctx.patched("skip-legacy"):
                    ctx.step(pay)
                fresh = ctx.patched("{long_id}")
                return "new" if fresh else "old"
            """
        )
    )
    code, out, err = run_wfkit("patches", "--store", store_url, "shop", "--format", "json")
    assert code == 0, err
    found = gates(out)
    assert sorted(found) == [
        ("checkout", long_id),
        ("checkout", "gift-wrap"),
        ("checkout", "skip-legacy"),
    ]
    checkout = str(package / "checkout.py").replace(str(user_code_dir) + "/", "")
    assert found[("checkout", "skip-legacy")]["locations"] == [f"{checkout}:15"]
    assert found[("checkout", long_id)]["locations"] == [f"{checkout}:17"]
    helpers = checkout.replace("checkout.py", "helpers.py")
    assert found[("checkout", "gift-wrap")]["locations"] == [f"{helpers}:6"]
    # no run of checkout in the store: nothing in flight needs anything
    assert {g["verdict"] for g in found.values()} == {"remove-gate"}
    assert json.loads(out)["problems"] == []
