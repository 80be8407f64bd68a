"""``wfkit compat``'s verdicts on real git repositories: each code in each dialect, helpers
across modules (the old helper read from git), suppressions, and what is never reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat_repo import codes, compare, git, make_repo, write

from wfkit.compat.check import CompatOptions, check

WFKIT = """\
from wfkit import Context, step, workflow


@step
def a(x): return x


@step
def b(x): return x


@step
def c(x): return x


@workflow
def flow(ctx: Context, x):
"""

TEMPORAL = """\
from datetime import timedelta
from temporalio import activity, workflow

T = timedelta(seconds=5)


@activity.defn
async def a(x): return x


@activity.defn
async def b(x): return x


@activity.defn
async def c(x): return x


@workflow.defn
class Flow:
    @workflow.run
    async def run(self, x):
"""

DBOS = """\
from dbos import DBOS


@DBOS.step()
def a(x): return x


@DBOS.step()
def b(x): return x


@DBOS.step()
def c(x): return x


@DBOS.workflow()
def flow(x):
"""

CALL = {
    "wfkit": ("ctx.step({}, x)", WFKIT, "    "),
    "temporal": (
        "await workflow.execute_activity({}, x, start_to_close_timeout=T)",
        TEMPORAL,
        "        ",
    ),
    "dbos": ("{}(x)", DBOS, "    "),
}


def body(dialect: str, *lines: str) -> str:
    """The dialect's module with a workflow body: ``"@a"`` calls operation a, anything else
    is written as given (indented)."""
    call, head, pad = CALL[dialect]
    out = []
    for line in lines:
        text = line
        for name in "abc":
            text = text.replace(f"@{name}", call.format(name))
        out.append(pad + text)
    return head + "\n".join(out) + "\n"


DIALECTS = ["wfkit", "temporal", "dbos"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (["@a", "@b"], ["@a", "@c", "@b"], ["WF301"]),  # inserted
        (["@a", "@b"], ["@a"], ["WF301"]),  # removed
        (["@a", "@b"], ["@b", "@a"], ["WF301"]),  # reordered
        (["@a", "@b"], ["@a", "@c"], ["WF301"]),  # renamed
        (["if x:", "    @a", "else:", "    @b"], ["if x:", "    @a", "else:", "    @c"], ["WF301"]),
        (["for i in x:", "    @a", "@b"], ["for i in x:", "    @a", "    @c", "@b"], ["WF301"]),
        # never reported
        (["@a", "@b"], ["@a", "@b", "@c"], []),  # appended after the last operation
        (["@a", "@b"], ["y = x", "@a", "@b  # a comment", ""], []),  # non-durable code
        (["if x > 1:", "    @a"], ["limit = x", "if limit > 1:", "    @a"], []),  # a local
    ],
    ids=[
        "inserted",
        "removed",
        "reordered",
        "renamed",
        "changed-in-a-branch",
        "added-in-a-loop",
        "appended",
        "non-durable",
        "renamed-local",
    ],
)
def test_operation_changes(tmp_path: Path, dialect: str, old, new, expected) -> None:
    result = compare(tmp_path, {"flows.py": body(dialect, *old)}, {"flows.py": body(dialect, *new)})
    assert sorted(set(codes(result))) == expected, result.findings


@pytest.mark.parametrize("dialect", ["wfkit", "temporal"])
def test_gated_insert_is_safe_and_a_gate_dropped_with_its_old_path_is_wf304(
    tmp_path: Path, dialect: str
) -> None:
    patched = "ctx.patched" if dialect == "wfkit" else "workflow.patched"
    gated = ["@a", f'if {patched}("add-c"):', "    @c", "@b"]
    assert (
        codes(
            compare(
                tmp_path / "1",
                {"flows.py": body(dialect, "@a", "@b")},
                {"flows.py": body(dialect, *gated)},
            )
        )
        == []
    )
    dropped = compare(
        tmp_path / "2",
        {"flows.py": body(dialect, *gated)},
        {"flows.py": body(dialect, "@a", "@c", "@b")},
    )
    assert codes(dropped) == ["WF304"]
    assert "add-c" in dropped.findings[0].message and "wfkit patches" in dropped.findings[0].message


def test_changes_inside_step_bodies_and_retry_options_are_never_reported(tmp_path: Path) -> None:
    old = body("wfkit", "@a", "ctx.step(b, x, timeout=5)")
    new = old.replace("def a(x): return x", "def a(x):\n    return x * 2").replace(
        "timeout=5", "timeout=50, retry=None"
    )
    assert codes(compare(tmp_path, {"flows.py": old}, {"flows.py": new})) == []


def test_the_fix_names_the_dialects_gate(tmp_path: Path) -> None:
    for dialect, words in (
        ("wfkit", 'if ctx.patched("flow-c")'),
        ("temporal", 'if workflow.patched("flow-c")'),
        ("dbos", "new application version"),
    ):
        result = compare(
            tmp_path / dialect,
            {"flows.py": body(dialect, "@a", "@b")},
            {"flows.py": body(dialect, "@a", "@c", "@b")},
        )
        (finding,) = result.findings
        assert words in finding.message, finding.message
        assert finding.path == "flows.py" and finding.line > 1
        assert "[" in finding.message  # the recorded sequence up to the divergence


def test_a_finding_says_where_in_the_new_and_the_old_code(tmp_path: Path) -> None:
    old = body("wfkit", "@a", "@b")
    new = body("wfkit", "@a", "", "", "@c", "@b")
    (finding,) = compare(tmp_path, {"flows.py": old}, {"flows.py": new}).findings
    new_line = new.splitlines().index("    ctx.step(c, x)") + 1
    old_line = old.splitlines().index("    ctx.step(b, x)") + 1
    assert (finding.line, finding.column) == (new_line, 5)
    assert f"old code at flows.py:{old_line}" in finding.message
    assert "[step 'a', step 'b']" in finding.message and "meets step 'c'" in finding.message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_renamed_or_removed_workflow_is_wf302(tmp_path: Path, dialect: str) -> None:
    old = body(dialect, "@a")
    renamed = old.replace("def flow(", "def flow_v2(").replace("class Flow:", "class FlowV2:")
    result = compare(tmp_path / "1", {"flows.py": old}, {"flows.py": renamed})
    assert codes(result) == ["WF302"]
    assert "now registered as" in result.findings[0].message
    removed = compare(tmp_path / "2", {"flows.py": old, "keep.py": "K = 1\n"}, {"flows.py": None})
    assert codes(removed) == ["WF302"] and "was removed" in removed.findings[0].message


def test_a_renamed_function_that_keeps_its_registered_name_is_safe(tmp_path: Path) -> None:
    old = body("wfkit", "@a").replace("@workflow\n", '@workflow(name="flow")\n')
    new = old.replace("def flow(", "def process_order(")
    assert codes(compare(tmp_path, {"flows.py": old}, {"flows.py": new})) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_inputs_that_no_longer_bind_are_wf303(tmp_path: Path, dialect: str) -> None:
    old = body(dialect, "@a")
    required = old.replace("(self, x)", "(self, x, y)").replace(
        "(ctx: Context, x)", "(ctx: Context, x, y)"
    )
    required = required.replace("def flow(x)", "def flow(x, y)")
    assert codes(compare(tmp_path / "1", {"flows.py": old}, {"flows.py": required})) == ["WF303"]
    defaulted = required.replace("x, y)", "x, y=1)")
    assert codes(compare(tmp_path / "2", {"flows.py": old}, {"flows.py": defaulted})) == []
    removed = required.replace("x, y)", "y)")
    assert "WF303" in codes(compare(tmp_path / "3", {"flows.py": required}, {"flows.py": removed}))


def test_a_retyped_parameter_is_wf303(tmp_path: Path) -> None:
    old = body("wfkit", "@a").replace("(ctx: Context, x)", "(ctx: Context, x: int)")
    new = old.replace("x: int", "x: str")
    (finding,) = compare(tmp_path, {"flows.py": old}, {"flows.py": new}).findings
    assert finding.code == "WF303" and "was int, now str" in finding.message


def test_an_operation_name_computed_at_run_time_is_wf305(tmp_path: Path) -> None:
    old = body("wfkit", "@a", "@b")
    new = body("wfkit", "@a", "ctx.step([b, c][x], x)")
    (finding,) = compare(tmp_path, {"flows.py": old}, {"flows.py": new}).findings
    assert finding.code == "WF305" and "computed at run time" in finding.message


def test_a_new_file_that_does_not_parse_is_wf305(tmp_path: Path) -> None:
    old = body("wfkit", "@a")
    (finding,) = compare(tmp_path, {"flows.py": old}, {"flows.py": old + "def (:\n"}).findings
    assert finding.code == "WF305" and "cannot be read" in finding.message


def test_new_workflows_are_never_reported(tmp_path: Path) -> None:
    old = body("wfkit", "@a")
    new = old + "\n\n@workflow\ndef other(ctx: Context, y):\n    ctx.step(c, y)\n"
    assert codes(compare(tmp_path, {"flows.py": old}, {"flows.py": new, "more.py": new})) == []


# ------------------------------------------------------------------------------ helpers
PACKAGE_FLOW = """\
from wfkit import Context, workflow
from shop.helpers import settle


@workflow
def flow(ctx: Context, x):
    settle(ctx, x)
"""

HELPERS = """\
from wfkit import Context, step


@step
def a(x): return x


@step
def b(x): return x


@step
def c(x): return x


def settle(ctx: Context, x):
{}
"""


def _helpers(*calls: str) -> str:
    return HELPERS.format("\n".join(f"    ctx.step({c}, x)" for c in calls))


def test_a_change_in_a_helper_module_reaches_the_workflow_that_calls_it(tmp_path: Path) -> None:
    old = {
        "shop/__init__.py": "",
        "shop/flows.py": PACKAGE_FLOW,
        "shop/helpers.py": _helpers("a", "b"),
    }
    result = compare(tmp_path, old, {"shop/helpers.py": _helpers("a", "c", "b")})
    (finding,) = result.findings
    assert finding.code == "WF301" and finding.path == "shop/helpers.py"
    assert (
        "workflow 'flow'" in finding.message and "old code at shop/helpers.py:" in finding.message
    )


def test_the_old_helper_is_read_from_git_when_the_workflow_changed_too(tmp_path: Path) -> None:
    old = {
        "shop/__init__.py": "",
        "shop/flows.py": PACKAGE_FLOW,
        "shop/helpers.py": _helpers("a", "b"),
    }
    new_flow = PACKAGE_FLOW.replace("    settle(ctx, x)\n", "    y = x\n    settle(ctx, y)\n")
    safe = compare(tmp_path / "1", old, {"shop/flows.py": new_flow})
    assert codes(safe) == [] and safe.files_checked >= 1
    moved = PACKAGE_FLOW.replace(
        "from shop.helpers import settle", "from shop.payments import settle"
    )
    result = compare(
        tmp_path / "2",
        old,
        {"shop/flows.py": moved, "shop/payments.py": _helpers("b", "a"), "shop/helpers.py": None},
    )
    assert codes(result) == ["WF301"], result.findings


def test_a_renamed_helper_is_safe(tmp_path: Path) -> None:
    old = {"shop/__init__.py": "", "shop/flows.py": PACKAGE_FLOW, "shop/helpers.py": _helpers("a")}
    new = {
        "shop/flows.py": PACKAGE_FLOW.replace("settle", "finish"),
        "shop/helpers.py": _helpers("a").replace("def settle", "def finish"),
    }
    assert codes(compare(tmp_path, old, new)) == []


# ------------------------------------------------------------------------------ suppressions
def test_a_suppression_comment_in_the_new_code_with_a_reason(tmp_path: Path) -> None:
    old = body("wfkit", "@a", "@b")
    new = body("wfkit", "@a", "@c  # wfkit: ignore[WF301] no runs in flight yet", "@b")
    assert codes(compare(tmp_path / "1", {"flows.py": old}, {"flows.py": new})) == []
    other_code = new.replace("WF301", "WF101")
    assert codes(compare(tmp_path / "2", {"flows.py": old}, {"flows.py": other_code})) == ["WF301"]


# ------------------------------------------------------------------------------ scope
def test_paths_limit_the_check_and_base_can_be_any_revision(tmp_path: Path) -> None:
    def b_side(*lines: str) -> str:  # another registered name
        return body("wfkit", *lines).replace("def flow(", "def flow_b(")

    repo = make_repo(
        tmp_path / "repo",
        {"a/flows.py": body("wfkit", "@a", "@b"), "b/flows.py": b_side("@a", "@b")},
    )
    write(repo, {"a/flows.py": body("wfkit", "@b", "@a"), "b/flows.py": b_side("@b", "@a")})
    everything = check(CompatOptions("HEAD", (), str(repo)))
    assert sorted(f.path for f in everything.findings) == ["a/flows.py", "b/flows.py"]
    only_a = check(CompatOptions("HEAD", ("a",), str(repo)))
    assert [f.path for f in only_a.findings] == ["a/flows.py"]
    git(repo, "commit", "-qam", "swap")
    assert codes(check(CompatOptions("HEAD", (), str(repo)))) == []
    assert len(check(CompatOptions("v1", (), str(repo))).findings) == 2
    inside = check(CompatOptions("v1", ("flows.py",), str(repo / "a")))
    assert [f.path for f in inside.findings] == ["flows.py"]  # relative to where it runs


def test_a_workflow_moved_into_a_new_untracked_file_is_found_there(tmp_path: Path) -> None:
    flow = body("wfkit", "@a", "@b")
    result = compare(tmp_path, {"flows.py": flow}, {"flows.py": None, "moved/orders.py": flow})
    assert codes(result) == [] and result.workflows_checked == 1


def test_a_large_change_read_in_a_pool_gives_the_serial_answer(tmp_path: Path) -> None:
    from wfkit.compat.reading import POOL_THRESHOLD

    count = POOL_THRESHOLD + 4
    old = {
        f"flows/m{i}.py": body("wfkit", "@a", "@b").replace("def flow(", f"def flow_{i}(")
        for i in range(count)
    }
    repo = make_repo(tmp_path / "repo", old)
    new = {
        path: text.replace("    ctx.step(b, x)\n", "    ctx.step(c, x)\n    ctx.step(b, x)\n")
        if i % 5 == 0
        else text.replace("ctx.step(a, x)", "ctx.step(a, x + 1)")  # safe, but code
        for i, (path, text) in enumerate(sorted(old.items()))
    }
    write(repo, new)
    serial = check(CompatOptions("HEAD", (), str(repo), jobs=1))
    pooled = check(CompatOptions("HEAD", (), str(repo), jobs=2))
    assert serial.findings == pooled.findings
    assert len(serial.findings) == len(range(0, count, 5)) and set(codes(serial)) == {"WF301"}
    assert serial.workflows_checked == pooled.workflows_checked == count
    # the cache, filled and read by the pool's workers, gives the same answer
    cache = str(tmp_path / "cache")
    cold = check(CompatOptions("HEAD", (), str(repo), jobs=2, cache_dir=cache))
    warm = check(CompatOptions("HEAD", (), str(repo), jobs=2, cache_dir=cache))
    assert cold.findings == warm.findings == serial.findings
    assert (cold.cache_hits, warm.cache_hits) == (0, 2 * count)


def test_a_gates_old_branch_emptied_is_wf304_and_a_later_change_stays_wf301(
    tmp_path: Path,
) -> None:
    gated = ["@a", 'if ctx.patched("v2"):', "    @c", "else:", "    @b"]
    emptied = ["@a", 'if ctx.patched("v2"):', "    @c"]
    result = compare(
        tmp_path / "1", {"flows.py": body("wfkit", *gated)}, {"flows.py": body("wfkit", *emptied)}
    )
    (finding,) = result.findings
    assert finding.code == "WF304" and "old branch of version gate 'v2'" in finding.message
    later = compare(
        tmp_path / "2",
        {"flows.py": body("wfkit", *gated, "@a", "@b")},
        {"flows.py": body("wfkit", *gated, "@a", "@c", "@b")},
    )
    assert sorted(set(codes(later))) == ["WF301"], later.findings


HELPER_PACKAGES = {
    "temporal": (
        """\
from datetime import timedelta
from temporalio import workflow
from shop.helpers import settle


@workflow.defn
class Flow:
    @workflow.run
    async def run(self, x):
        await settle(x)
""",
        """\
from datetime import timedelta
from temporalio import workflow

T = timedelta(seconds=5)


async def settle(x):
{}
""",
        '    await workflow.execute_activity("{}", x, start_to_close_timeout=T)',
    ),
    "dbos": (
        """\
from dbos import DBOS
from shop.helpers import settle


@DBOS.workflow()
def flow(x):
    settle(x)
""",
        """\
from dbos import DBOS


@DBOS.step()
def a(x): return x


@DBOS.step()
def b(x): return x


@DBOS.step()
def c(x): return x


def settle(x):
{}
""",
        "    {}(x)",
    ),
}


@pytest.mark.parametrize("dialect", ["temporal", "dbos"])
def test_helpers_across_modules_in_temporal_and_dbos(tmp_path: Path, dialect: str) -> None:
    flow, helpers, call = HELPER_PACKAGES[dialect]

    def helper_module(*names: str) -> str:
        return helpers.format("\n".join(call.format(name) for name in names))

    old = {
        "shop/__init__.py": "",
        "shop/flows.py": flow,
        "shop/helpers.py": helper_module("a", "b"),
    }
    inserted = compare(tmp_path / "1", old, {"shop/helpers.py": helper_module("a", "c", "b")})
    (finding,) = inserted.findings
    assert (finding.code, finding.path) == ("WF301", "shop/helpers.py")
    appended = compare(tmp_path / "2", old, {"shop/helpers.py": helper_module("a", "b", "c")})
    assert codes(appended) == []


def test_a_wfkit_timers_name_is_what_replay_compares(tmp_path: Path) -> None:
    old = body("wfkit", "@a", "ctx.sleep(60)", "@b")
    longer = body("wfkit", "@a", "ctx.sleep(3600)", "@b")
    named = body("wfkit", "@a", 'ctx.sleep(60, name="cool-off")', "@b")
    assert codes(compare(tmp_path / "1", {"flows.py": old}, {"flows.py": longer})) == []
    (finding,) = compare(tmp_path / "2", {"flows.py": old}, {"flows.py": named}).findings
    assert finding.code == "WF301" and "timer 'cool-off'" in finding.message


def test_an_old_file_that_did_not_parse_is_wf305(tmp_path: Path) -> None:
    broken = body("wfkit", "@a") + "def (:\n"
    (finding,) = compare(tmp_path, {"flows.py": broken}, {"flows.py": body("wfkit", "@a")}).findings
    assert finding.code == "WF305" and "the old flows.py cannot be read" in finding.message


def test_too_many_paths_is_wf305_unless_the_operations_did_not_change(tmp_path: Path) -> None:
    branches = [line for n in range(13) for line in (f"if x > {n}:", "    @a")]
    old = body("wfkit", *branches)
    same = old.replace("ctx.step(a, x)", "ctx.step(a, x + 1)")
    assert codes(compare(tmp_path / "1", {"flows.py": old}, {"flows.py": same})) == []
    changed = body("wfkit", *branches, "@b").replace("if x > 12:", "if x > 99:")
    result = compare(tmp_path / "2", {"flows.py": old}, {"flows.py": changed})
    assert "WF305" in codes(result)
    assert any("more than 4096 paths" in f.message for f in result.findings)


def test_a_reformatted_file_is_not_read_unless_a_module_it_uses_changed(tmp_path: Path) -> None:
    old = {
        "shop/__init__.py": "",
        "shop/flows.py": PACKAGE_FLOW,
        "shop/helpers.py": _helpers("a", "b"),
    }
    reformatted = "# reformatted\n" + PACKAGE_FLOW.replace("settle(ctx, x)", "settle( ctx,  x )")
    result = compare(tmp_path / "1", old, {"shop/flows.py": reformatted})
    assert codes(result) == [] and result.workflows_checked == 0 and result.files_checked == 1
    both = compare(
        tmp_path / "2",
        old,
        {"shop/flows.py": reformatted, "shop/helpers.py": _helpers("b", "a")},
    )
    assert codes(both) == ["WF301"] and both.workflows_checked == 1


def test_untracked_files_are_read_only_for_a_workflow_that_went_missing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"flows.py": body("wfkit", "@a")})
    (repo / "venv").mkdir()
    (repo / "venv" / "broken.py").write_text("def (:\n")  # an unignored virtualenv, say
    write(repo, {"flows.py": body("wfkit", "@a", "@b")})
    result = check(CompatOptions("HEAD", (), str(repo)))
    assert codes(result) == [] and result.files_checked == 1


# ------------------------------------------------------------------------------ wait_condition
WAIT = "await workflow.wait_condition(lambda: x is not None)"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # without a timeout a wait_condition issues no command: nothing is recorded
        (["@a", "@b"], ["@a", WAIT, "@b"], []),
        (["@a", WAIT, "@b"], ["@a", "@b"], []),
        (["@a", "if x:", f"    {WAIT}", "@b"], ["@a", "@b"], []),
        # with a timeout it starts a timer, recorded like workflow.sleep
        (["@a", "@b"], ["@a", WAIT[:-1] + ", timeout=T)", "@b"], ["WF301"]),
        (["@a", "@b"], ["@a", WAIT[:-1] + ", T)", "@b"], ["WF301"]),
        (["@a", WAIT[:-1] + ", timeout=T)", "@b"], ["@a", "@b"], ["WF301"]),
        (["@a", "await workflow.sleep(5)", "@b"], ["@a", WAIT[:-1] + ", timeout=T)", "@b"], []),
        (["@a", "@b"], ["@a", WAIT[:-1] + ", timeout=None)", "@b"], []),
        # a timeout held by a local may be None at run time: cannot tell
        (["@a", "@b"], ["@a", WAIT[:-1] + ", timeout=x)", "@b"], ["WF305"]),
        (["@a", WAIT[:-1] + ", timeout=x)", "@b"], ["@a", WAIT[:-1] + ", timeout=x)", "@b"], []),
    ],
    ids=[
        "plain-inserted",
        "plain-removed",
        "plain-removed-in-branch",
        "timeout-inserted",
        "positional-timeout-inserted",
        "timeout-removed",
        "sleep-became-timed-wait",
        "timeout-none-inserted",
        "timeout-from-a-local-inserted",
        "timeout-from-a-local-unchanged",
    ],
)
def test_temporal_wait_condition_is_recorded_only_with_a_timeout(
    tmp_path: Path, old, new, expected
) -> None:
    result = compare(
        tmp_path, {"flows.py": body("temporal", *old)}, {"flows.py": body("temporal", *new)}
    )
    assert codes(result) == expected, result.findings


def test_a_timed_wait_inserted_is_reported_as_a_timer(tmp_path: Path) -> None:
    new = body("temporal", "@a", WAIT[:-1] + ", timeout=T)", "@b")
    result = compare(tmp_path, {"flows.py": body("temporal", "@a", "@b")}, {"flows.py": new})
    (finding,) = result.findings
    assert "a timer (the timeout of wait_condition" in finding.message
    assert finding.message.startswith("workflow 'Flow': activity 'b' became a timer")


# ------------------------------------------------------------------------------ handlers
HANDLED = """\
from datetime import timedelta
from temporalio import activity, workflow

T = timedelta(seconds=5)


@activity.defn
async def a(x): return x


@activity.defn
async def b(x): return x


@activity.defn
async def c(x): return x


@workflow.defn
class Flow:
    def __init__(self) -> None:
        self.ready = False

    @workflow.run
    async def run(self, x):
        await workflow.execute_activity(a, x, start_to_close_timeout=T)
        await workflow.wait_condition(lambda: self.ready)

{handlers}
"""

APPROVE = """\
    @workflow.signal{args}
    async def {method}(self, x) -> None:
{body}
        self.ready = True
"""

CHANGE = """\
    @workflow.update{args}
    async def {method}(self, x) -> str:
{body}
        return x
"""

STATUS = """\
    @workflow.query{args}
    def {method}(self) -> bool:
        return self.ready
"""


def _handled(*handlers: tuple[str, str, str, list[str]]) -> str:
    """The module with handlers: (template, decorator args, method name, body lines)."""
    out = []
    for template, args, method, lines in handlers:
        body = "\n".join(
            f"        await workflow.execute_activity({op}, x, start_to_close_timeout=T)"
            for op in lines
        )
        out.append(template.format(args=args, method=method, body=body or "        pass"))
    return HANDLED.format(handlers="\n".join(out))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # removed or renamed while a recorded run may have received it: WF306
        ([(APPROVE, "", "approve", [])], [], ["WF306"]),
        ([(APPROVE, "", "approve", [])], [(APPROVE, "", "approve_now", [])], ["WF306"]),
        (
            [(APPROVE, '(name="approve")', "approve", [])],
            [(APPROVE, '(name="approve_v2")', "approve", [])],
            ["WF306"],
        ),
        ([(CHANGE, "", "change", [])], [], ["WF306"]),
        ([(CHANGE, "", "change", [])], [(CHANGE, '(name="alter")', "change", [])], ["WF306"]),
        # the registered name kept while the method is renamed: safe
        (
            [(APPROVE, "", "approve", [])],
            [(APPROVE, '(name="approve")', "approve_order", [])],
            [],
        ),
        # durable operations inside a handler changed: WF301 at the handler
        ([(APPROVE, "", "approve", ["b"])], [(APPROVE, "", "approve", ["c", "b"])], ["WF301"]),
        ([(APPROVE, "", "approve", ["b", "c"])], [(APPROVE, "", "approve", ["b"])], ["WF301"]),
        ([(APPROVE, "", "approve", ["b"])], [(APPROVE, "", "approve", ["c"])], ["WF301"]),
        ([(CHANGE, "", "change", ["b"])], [(CHANGE, "", "change", ["b", "c"])], ["WF301"]),
        ([(APPROVE, "", "approve", [])], [(APPROVE, "", "approve", ["b"])], ["WF301"]),
        # a handler's body changed without durable operations, a query renamed or removed,
        # a new handler: never reported
        ([(APPROVE, "", "approve", ["b"])], [(APPROVE, "", "approve", ["b"])], []),
        ([(STATUS, "", "status", [])], [(STATUS, "", "state", [])], []),
        ([(STATUS, "", "status", [])], [], []),
        ([], [(APPROVE, "", "approve", ["b"])], []),
        # a dynamic handler receives the removed one's signals: cannot tell
        (
            [(APPROVE, "", "approve", [])],
            [(APPROVE, "(dynamic=True)", "anything", [])],
            ["WF305"],
        ),
    ],
    ids=[
        "signal-removed",
        "signal-method-renamed",
        "signal-name-changed",
        "update-removed",
        "update-name-changed",
        "method-renamed-name-kept",
        "op-inserted-in-handler",
        "op-removed-from-handler",
        "op-renamed-in-handler",
        "op-appended-to-update",
        "op-added-to-empty-handler",
        "unchanged-ops",
        "query-renamed",
        "query-removed",
        "new-handler",
        "dynamic-handler-instead",
    ],
)
def test_temporal_signal_and_update_handlers(tmp_path: Path, old, new, expected) -> None:
    result = compare(tmp_path, {"flows.py": _handled(*old)}, {"flows.py": _handled(*new)})
    assert codes(result) == expected, result.findings


def test_a_handler_body_changed_without_durable_operations_is_safe(tmp_path: Path) -> None:
    old = _handled((APPROVE, "", "approve", ["b"]))
    new = old.replace(
        "        self.ready = True\n", "        self.count = x\n        self.ready = x > 0\n"
    )
    assert new != old
    assert codes(compare(tmp_path, {"flows.py": old}, {"flows.py": new})) == []


def test_a_handler_finding_names_the_handler_and_points_at_it(tmp_path: Path) -> None:
    old = _handled((APPROVE, "", "approve", ["b"]))
    new = _handled((APPROVE, "", "approve", ["c", "b"]))
    (finding,) = compare(tmp_path, {"flows.py": old}, {"flows.py": new}).findings
    assert finding.code == "WF301"
    assert finding.message.startswith("workflow 'Flow', signal handler 'approve': ")
    line = new.splitlines()[finding.line - 1]
    assert "execute_activity(c" in line


def test_a_renamed_signal_is_reported_at_the_new_handler(tmp_path: Path) -> None:
    old = _handled((APPROVE, "", "approve", []))
    new = _handled((APPROVE, '(name="approve_v2")', "approve", []))
    (finding,) = compare(tmp_path, {"flows.py": old}, {"flows.py": new}).findings
    assert "now registered as 'approve_v2'" in finding.message
    assert "name='approve'" in finding.message
    assert new.splitlines()[finding.line - 1].strip().startswith("async def approve")


def test_handlers_registered_at_run_time_cannot_be_told(tmp_path: Path) -> None:
    old = _handled((APPROVE, "", "approve", []))
    new = _handled().replace(
        "        await workflow.wait_condition",
        "        workflow.set_signal_handler(self.name, self.on)\n"
        "        await workflow.wait_condition",
    )
    result = compare(tmp_path, {"flows.py": old}, {"flows.py": new})
    assert codes(result) == ["WF305"]
    assert "registers handlers at run time" in result.findings[0].message


@pytest.mark.parametrize("listed", [0, 256], ids=["tree-searched", "files-listed"])
def test_a_caller_of_a_changed_helper_is_found_however_the_search_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: int
) -> None:
    """Past MAX_LISTED files left to search, git grep searches the tree; below, only them."""
    import wfkit.compat.check as check_module

    monkeypatch.setattr(check_module, "MAX_LISTED", listed)
    old = {
        "shop/__init__.py": "",
        "shop/flows.py": PACKAGE_FLOW,
        "shop/helpers.py": _helpers("a", "b"),
        "shop/other.py": "X = 1\n",
    }
    result = compare(tmp_path, old, {"shop/helpers.py": _helpers("a", "c", "b")})
    assert codes(result) == ["WF301"]
    assert result.files_checked == 2  # the helper and its caller, not other.py


def test_a_handler_name_held_by_a_constant_is_its_value(tmp_path: Path) -> None:
    old = _handled((APPROVE, '(name="approve")', "approve", []))
    new = _handled((APPROVE, "(name=SIGNAL)", "on_approve", [])).replace(
        "T = timedelta(seconds=5)\n", 'T = timedelta(seconds=5)\nSIGNAL = "approve"\n'
    )
    assert codes(compare(tmp_path, {"flows.py": old}, {"flows.py": new})) == []
    changed = new.replace('SIGNAL = "approve"', 'SIGNAL = "approved"')
    result = compare(tmp_path / "2", {"flows.py": old}, {"flows.py": changed})
    assert codes(result) == ["WF306"]


def test_a_handler_name_computed_at_run_time_cannot_be_told(tmp_path: Path) -> None:
    old = _handled((APPROVE, '(name="approve")', "approve", []))
    new = _handled((APPROVE, '(name="appr" + "ove")', "approve", []))
    result = compare(tmp_path, {"flows.py": old}, {"flows.py": new})
    assert codes(result) == ["WF305"]
    assert "is computed at run time" in result.findings[0].message
