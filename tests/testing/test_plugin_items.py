"""The plugin's extra items: ``--wfkit-lint`` (one per workflow file) and ``--wfkit-histories``
(one replay per exported history)."""

from __future__ import annotations

import textwrap

import pytest

# pytester's in-process runs unload the modules they import; load what the items use first.
import wfkit.engine.engine  # noqa: F401
import wfkit.engine.loader  # noqa: F401
import wfkit.lint.api  # noqa: F401
import wfkit.testing.collect  # noqa: F401
import wfkit.testing.context  # noqa: F401
from wfkit import Context, step, workflow
from wfkit.testing import TestWorkflowContext

pytest_plugins = ["pytester"]

BAD = """
    from datetime import datetime

    from wfkit import Context, workflow


    @workflow
    def late(ctx: Context) -> bool:
        return datetime.now().hour > 12
"""

CLEAN = """
    from wfkit import Context, workflow


    @workflow
    def early(ctx: Context) -> bool:
        return ctx.now().hour < 12
"""


def test_lint_items_fail_with_the_findings_and_pass_clean_files(pytester: pytest.Pytester):
    pytester.makepyfile(bad=BAD, clean=CLEAN, helper="def add(a, b):\n    return a + b\n")
    result = pytester.runpytest("--wfkit-lint", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ wfkit-lint bad.py _*",
            "bad.py:8:12: WF101 wall-clock time read in workflow code (late -> datetime.now()); "
            "use ctx.now()",
            "PASSED clean.py::wfkit-lint",
        ]
    )
    assert "helper.py" not in result.stdout.str()  # no workflow code: no item
    assert "Traceback" not in result.stdout.str()


def test_without_the_option_there_are_no_lint_items(pytester: pytest.Pytester):
    pytester.makepyfile(bad=BAD)
    pytester.runpytest().assert_outcomes()


def test_lint_items_honour_the_project_config(pytester: pytest.Pytester):
    pytester.makepyfile(bad=BAD)
    pytester.makepyprojecttoml('[tool.wfkit.lint]\nignore = ["WF101"]\n')
    pytester.runpytest("--wfkit-lint").assert_outcomes(passed=1)


def test_a_bad_lint_config_fails_the_items_with_one_line(pytester: pytest.Pytester):
    pytester.makepyfile(clean=CLEAN)
    pytester.makepyprojecttoml('[tool.wfkit.lint]\nselcet = ["WF101"]\n')
    result = pytester.runpytest("--wfkit-lint")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["wfkit lint: *selcet*"])


# -- replay ------------------------------------------------------------------------------------
@step
def fetch(name: str) -> str:
    return name.upper()


@workflow(name="items-greet")
def greet_v1(ctx: Context, name: str) -> str:
    return "hello " + ctx.step(fetch, name)


V1 = """
    from wfkit import Context, step, workflow


    @step
    def fetch(name: str) -> str:
        return name.upper()


    @workflow(name="items-greet")
    def greet(ctx: Context, name: str) -> str:
        return "hello " + ctx.step(fetch, name)
"""

V2_UNSAFE = """
    from wfkit import Context, step, workflow


    @step
    def audit(name: str) -> None:
        pass


    @step
    def fetch(name: str) -> str:
        return name.upper()


    @workflow(name="items-greet")
    def greet(ctx: Context, name: str) -> str:
        ctx.step(audit, name)          # inserted without ctx.patched(): old runs diverge
        return "hello " + ctx.step(fetch, name)
"""


@pytest.fixture
def histories(pytester: pytest.Pytester) -> str:
    ctx = TestWorkflowContext()
    ctx.run(greet_v1, "ada")
    folder = pytester.mkdir("histories")
    (folder / "greet-ada.json").write_text(ctx.history.to_json(), encoding="utf-8")
    return "histories"


def test_a_history_that_replays_passes(pytester: pytest.Pytester, histories: str):
    pytester.makepyfile(flows=V1)
    result = pytester.runpytest("--wfkit-histories", histories, "--wfkit-workflows", "flows", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*collected 1 item", "histories/greet-ada.json::replay PASSED*"])


def test_a_diverged_history_fails_with_the_nondeterminism_message(
    pytester: pytest.Pytester, histories: str
):
    pytester.makepyfile(flows=V2_UNSAFE)
    pytester.makeini("[pytest]\nwfkit_workflows = flows\n")  # the ini key works too
    result = pytester.runpytest("--wfkit-histories", histories)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "histories/greet-ada.json diverged: non-deterministic workflow: operation #1 was "
            "recorded as step 'fetch' (at *) but the code now does step 'audit' at *flows.py:16 "
            "(make the workflow body deterministic, or gate the change with ctx.patched())"
        ]
    )


def test_a_damaged_history_fails_as_damaged_not_as_in_flight(
    pytester: pytest.Pytester, histories: str
):
    import json

    path = pytester.path / histories / "greet-ada.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["events"] = [e for e in doc["events"] if e["type"] != "step_completed"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    pytester.makepyfile(flows=V1)
    result = pytester.runpytest("--wfkit-histories", histories, "--wfkit-workflows", "flows")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "histories/greet-ada.json: damaged history: line * of its log "
            "has index * (lines missing, added or out of order)*"
        ]
    )


def test_an_unknown_workflow_names_the_option(pytester: pytest.Pytester, histories: str):
    pytester.makepyfile(flows=CLEAN)
    result = pytester.runpytest("--wfkit-histories", histories, "--wfkit-workflows", "flows")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "histories/greet-ada.json is a history of workflow 'items-greet', which none of the "
            "modules in --wfkit-workflows MODULE[,MODULE...] (ini: wfkit_workflows) defines "
            "(modules: flows; workflows: early)"
        ]
    )


def test_no_workflow_modules_and_a_bad_module_are_clear_failures(
    pytester: pytest.Pytester, histories: str
):
    result = pytester.runpytest("--wfkit-histories", histories)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no workflow modules are configured: pass --wfkit-workflows*"])
    result = pytester.runpytest("--wfkit-histories", histories, "--wfkit-workflows", "nowhere")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["--wfkit-workflows *: cannot import nowhere*"])


def test_a_damaged_history_fails_its_item_and_a_missing_folder_is_a_usage_error(
    pytester: pytest.Pytester,
):
    pytester.mkdir("histories")
    (pytester.path / "histories" / "broken.json").write_text("{not json", encoding="utf-8")
    result = pytester.runpytest("--wfkit-histories", "histories", "--wfkit-workflows", "x")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["histories/broken.json is not JSON*"])
    result = pytester.runpytest("--wfkit-histories", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--wfkit-histories nope: no such directory*"])


def test_the_ini_key_takes_a_toml_list(pytester: pytest.Pytester, histories: str):
    pytester.makepyfile(flows=V1, other=CLEAN)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nwfkit_workflows = ["other", "flows"]\n')
    pytester.runpytest("--wfkit-histories", histories).assert_outcomes(passed=1)


def test_replay_items_are_selected_by_k(pytester: pytest.Pytester, histories: str):
    pytester.makepyfile(flows=V1, test_other="def test_other(): pass")
    result = pytester.runpytest(
        "--wfkit-histories", histories, "--wfkit-workflows", "flows", "-k", "replay"
    )
    result.assert_outcomes(passed=1, deselected=1)


def test_lint_items_skip_excluded_paths_and_see_extra_decorators(pytester: pytest.Pytester):
    pytester.makepyprojecttoml(
        '[tool.wfkit.lint]\nexclude = ["samples"]\nextra-workflow-decorators = ["myco.durable"]\n'
    )
    pytester.mkdir("samples")
    (pytester.path / "samples" / "bad.py").write_text(textwrap.dedent(BAD), encoding="utf-8")
    pytester.makepyfile(
        custom="""
        import time

        from myco import durable


        @durable
        def late(ctx):
            return time.time()
    """
    )
    result = pytester.runpytest("--wfkit-lint", "-rA")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["custom.py:*: WF101 *time.time()*"])
    assert "samples" not in result.stdout.str()


def test_a_helper_that_a_workflow_calls_gets_an_item_for_its_findings(pytester: pytest.Pytester):
    pytester.makepyfile(
        flows="""
        from wfkit import Context, workflow

        from helpers import hour


        @workflow
        def late(ctx: Context) -> bool:
            return hour() > 12
    """,
        helpers="""
        from datetime import datetime


        def hour() -> int:
            return datetime.now().hour
    """,
        unrelated="""
        from datetime import datetime


        def stamp() -> str:
            return datetime.now().isoformat()
    """,
    )
    result = pytester.runpytest("--wfkit-lint", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "helpers.py:5:12: WF101 wall-clock time read in workflow code (late -> hour -> "
            "datetime.now()); use ctx.now()",
            "PASSED flows.py::wfkit-lint",
            "FAILED helpers.py::wfkit-lint - *",
        ]
    )
    assert "unrelated.py" not in result.stdout.str()
