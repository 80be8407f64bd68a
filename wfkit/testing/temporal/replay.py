"""Every history an environment recorded, through temporalio's own ``Replayer`` (offline): the
proof that what the environment wrote is a history a Temporal worker accepts. Used by the
``wf_temporal_env`` fixture at teardown and by ``verify_temporal`` on each example."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from wfkit.testing.temporal.environment import TemporalTestEnvironment


def replay_problem(history: WorkflowHistory, workflows: Sequence[type]) -> str | None:
    """None when temporalio's Replayer replays ``history`` cleanly, else what it said."""
    replayer = Replayer(workflows=list(workflows), workflow_runner=UnsandboxedWorkflowRunner())
    result = asyncio.run(replayer.replay_workflow(history, raise_on_replay_failure=False))
    if result.replay_failure is None:
        return None
    return repr(result.replay_failure)


def replay_failures(env: TemporalTestEnvironment) -> dict[str, str]:
    """Workflow id -> the Replayer's complaint, for every history of ``env`` that does not
    replay. A run the environment stopped mid-task (a failed workflow task, a feature not
    emulated) is skipped: its history ends in a task no one answered."""
    out = {}
    for run in env.all_runs:
        if not run.replayable:
            continue
        problem = replay_problem(run.history(), env.workflow_classes)
        if problem is not None:
            out[run.id] = problem
    return out
