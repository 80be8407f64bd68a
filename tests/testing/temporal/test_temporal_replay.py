"""Crashes are Temporal's: the instance is rebuilt by replaying the history, so code changed
between the crash and the replay raises temporalio's own NondeterminismError, in the
environment and in temporalio's Replayer alike. Also: wfkit imports without temporalio."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from temporal_flows import ACTIVITIES, DRIFT, WORKFLOWS, Approval, Drifting, Transfer
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

TRANSFER = Transfer("alice", "bob", 10, "ref-1")


@pytest.fixture
def drift():
    """DRIFT as the test leaves it is put back, so teardown replays with the original code."""
    yield DRIFT
    DRIFT["first"] = "withdraw"


def test_a_crash_with_unchanged_code_replays_and_finishes(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Drifting.run, TRANSFER, id="d-1")
        run.crash()
        return await run.result()

    assert asyncio.run(scenario()) == "withdrew 10 from alice"
    assert env.runs["d-1"].crashes == 1


def test_code_changed_between_crash_and_replay_is_temporals_nondeterminism(temporal_env, drift):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Drifting.run, TRANSFER, id="d-1")  # ran withdraw, sleeping now
        drift["first"] = "refund"  # a deploy changes the code
        run.crash()
        await run.result()

    with pytest.raises(NondeterminismError, match="schedule_activity 1 refund"):
        asyncio.run(scenario())
    # temporalio's Replayer, given the same history and the changed code, agrees.
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError):
        asyncio.run(replayer.replay_workflow(env.runs["d-1"].history()))


def test_signals_survive_a_crash(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        await env.start(Approval.run, "leave", id="a-1")
        await env.sleep(timedelta(minutes=5))
        env.runs["a-1"].crash()
        assert await env.query("a-1", Approval.status) == "waiting"  # rebuilt by replay
        await env.signal("a-1", Approval.decide, "approved")
        return await env.runs["a-1"].result()

    assert asyncio.run(scenario()) == "leave: approved after 300s"


def test_an_unknown_workflow_id_is_named(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    asyncio.run(env.execute(Drifting.run, TRANSFER, id="d-1"))
    with pytest.raises(KeyError, match="no workflow 'nope' in this environment"):
        asyncio.run(env.signal("nope", "decide", "x"))


def test_wfkit_imports_without_temporalio_and_the_extra_is_named():
    # A meta path finder that hides temporalio, as on an install without the extra.
    code = textwrap.dedent(
        """
        import sys
        class Hide:
            def find_spec(self, name, path=None, target=None):
                if name == "temporalio" or name.startswith("temporalio."):
                    raise ImportError("No module named 'temporalio'")
        sys.meta_path.insert(0, Hide())
        import wfkit, wfkit.testing
        from wfkit.testing import TestWorkflowContext
        try:
            import wfkit.testing.temporal
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == (
        "wfkit.testing.temporal needs temporalio: pip install 'wfkit[temporal]'"
    )
