"""``--wfkit-histories`` replays Temporal histories too: a ``*.json`` file in Temporal's JSON
(``temporal workflow show --output json``, ``WorkflowHistory.to_json()``) becomes a ``::replay``
item that temporalio's own ``Replayer`` replays against the ``@workflow.defn`` classes of
``--wfkit-workflows``; wfkit histories in the same folder keep replaying with wfkit's engine."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from exported_flows import ExportedGreeting, fetch_name

# pytester's in-process runs unload the modules they import; load what the items use first.
import wfkit.engine.history  # noqa: F401
import wfkit.engine.loader  # noqa: F401
import wfkit.testing.collect  # noqa: F401
import wfkit.testing.temporal.exported  # noqa: F401
from wfkit import Context, step, workflow
from wfkit.testing import TestWorkflowContext

pytest_plugins = ["pytester"]

SOURCE = Path(__file__).with_name("exported_flows.py").read_text(encoding="utf-8")
# A deploy that inserts an activity before the first one: old histories no longer replay.
CHANGED = SOURCE.replace(
    "# CHANGE-HERE",
    "await workflow.execute_activity(\n"
    "            audit_greeting, name, start_to_close_timeout=timedelta(seconds=5)\n"
    "        )",
)
WFKIT_FLOWS = """
    from wfkit import Context, step, workflow


    @step
    def shout(name: str) -> str:
        return name.upper()


    @workflow(name="exported-wfkit-greet")
    def greet(ctx: Context, name: str) -> str:
        return "hi " + ctx.step(shout, name)
"""


@step
def shout(name: str) -> str:
    return name.upper()


@workflow(name="exported-wfkit-greet")
def greet(ctx: Context, name: str) -> str:
    return "hi " + ctx.step(shout, name)


@pytest.fixture
def histories(pytester: pytest.Pytester, temporal_env) -> Path:
    """``histories/greet-ada.json``: a finished run of ExportedGreeting, recorded by the
    environment and written as ``WorkflowHistory.to_json()`` writes it."""
    env = temporal_env(workflows=[ExportedGreeting], activities=[fetch_name])
    result = asyncio.run(env.execute(ExportedGreeting.run, "ada", id="greet-ada"))
    assert result == "hello ADA"
    folder = pytester.mkdir("histories")
    (folder / "greet-ada.json").write_text(env.runs["greet-ada"].history().to_json())
    return folder


def test_a_temporal_history_replays_against_unchanged_code(pytester, histories):
    pytester.makepyfile(flows=SOURCE)
    result = pytester.runpytest(
        "--wfkit-histories", "histories", "--wfkit-workflows", "flows", "-v"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["histories/greet-ada.json::replay PASSED*"])


def test_changed_code_fails_with_temporals_nondeterminism_message(pytester, histories):
    pytester.makepyfile(flows=CHANGED)
    result = pytester.runpytest("--wfkit-histories", "histories", "--wfkit-workflows", "flows")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "histories/greet-ada.json diverged: NondeterminismError: [TMPRL1100] Nondeterminism"
            " error: Activity type of scheduled event 'fetch_name' does not match activity type"
            " of activity command 'audit_greeting'"
        ]
    )


def test_wfkit_and_temporal_histories_replay_side_by_side(pytester, histories):
    ctx = TestWorkflowContext()
    ctx.run(greet, "bo")
    (histories / "wfkit-bo.json").write_text(ctx.history.to_json(), encoding="utf-8")
    pytester.makepyfile(flows=SOURCE, wfflows=textwrap.dedent(WFKIT_FLOWS))
    result = pytester.runpytest(
        "--wfkit-histories", "histories", "--wfkit-workflows", "flows,wfflows", "-v"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["histories/greet-ada.json::replay PASSED*", "histories/wfkit-bo.json::replay PASSED*"]
    )


def test_the_cli_export_shape_replays(pytester, histories):
    """``temporal workflow show --output json`` writes the same proto JSON; older CLIs wrote
    enum names without their prefix (``WorkflowExecutionStarted``), which temporalio accepts."""
    doc = json.loads((histories / "greet-ada.json").read_text())
    for event in doc["events"]:
        event["eventType"] = "".join(
            part.capitalize() for part in event["eventType"].removeprefix("EVENT_TYPE_").split("_")
        )
    (histories / "greet-ada.json").write_text(json.dumps(doc))
    pytester.makepyfile(flows=SOURCE)
    result = pytester.runpytest("--wfkit-histories", "histories", "--wfkit-workflows", "flows")
    result.assert_outcomes(passed=1)


def test_an_unknown_workflow_type_names_the_classes_found(pytester, histories):
    pytester.makepyfile(flows=SOURCE.replace('name="ExportedGreeting"', 'name="Renamed"'))
    result = pytester.runpytest("--wfkit-histories", "histories", "--wfkit-workflows", "flows")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "histories/greet-ada.json is a Temporal history of workflow type 'ExportedGreeting',"
            " which no @workflow.defn class in --wfkit-workflows MODULE[,MODULE...] (ini:"
            " wfkit_workflows) defines (modules: flows; Temporal workflows found: Renamed)"
        ]
    )


def test_damaged_temporal_histories_fail_with_one_line(pytester, histories):
    doc = json.loads((histories / "greet-ada.json").read_text())
    doc["events"][1]["eventId"] = "not a number"
    (histories / "bad-id.json").write_text(json.dumps(doc))
    (histories / "no-start.json").write_text(json.dumps({"events": [{"eventType": "X"}]}))
    (histories / "broken.json").write_text('{"events": [')
    pytester.makepyfile(flows=SOURCE)
    result = pytester.runpytest("--wfkit-histories", "histories", "--wfkit-workflows", "flows")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "histories/bad-id.json is not a Temporal history: *eventId*",
            "histories/broken.json is not JSON*",
            "histories/no-start.json is not a Temporal history: its first event is not a"
            " WorkflowExecutionStarted naming a workflow type",
        ],
        consecutive=False,
    )


def test_without_temporalio_the_item_names_the_extra(tmp_path: Path, histories: Path):
    """A project without the extra: a meta path finder hides temporalio, as on such an
    install; the plugin itself still loads, and the Temporal history's item names the extra."""
    (tmp_path / "histories").mkdir(exist_ok=True)
    (tmp_path / "histories" / "greet-ada.json").write_bytes(
        (histories / "greet-ada.json").read_bytes()
    )
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import sys


            class Hide:
                def find_spec(self, name, path=None, target=None):
                    if name == "temporalio" or name.startswith("temporalio."):
                        raise ImportError("No module named 'temporalio'")


            sys.meta_path.insert(0, Hide())
            """
        )
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--wfkit-histories",
            "histories",
            "--wfkit-workflows",
            "flows",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "histories/greet-ada.json is a Temporal history; replaying it needs temporalio: "
        "pip install 'wfkit[temporal]'"
    ) in done.stdout
