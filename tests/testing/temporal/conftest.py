"""The fidelity check every Temporal environment test gets: at teardown, each history the
test's environments recorded is replayed by temporalio's own ``Replayer`` (offline, no server)
and must replay cleanly. A run the environment stopped mid-task (a failed workflow task, a
feature not emulated) is the one exception: its history ends in a task no one answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from temporal_flows import WORKFLOWS
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from wfkit.testing.temporal import TemporalTestEnvironment


def replay_failures(env: TemporalTestEnvironment) -> dict[str, str]:
    """Run id -> what temporalio's Replayer said, for every history that does not replay."""
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())

    async def replay_all() -> dict[str, str]:
        out = {}
        for run in env.runs.values():
            if run.stopped is not None:
                continue
            result = await replayer.replay_workflow(run.history(), raise_on_replay_failure=False)
            if result.replay_failure is not None:
                out[run.id] = repr(result.replay_failure)
        return out

    return asyncio.run(replay_all())


@pytest.fixture
def temporal_env() -> Iterator[Callable[..., TemporalTestEnvironment]]:
    """Makes environments for the test; checks every recorded history replays in temporalio."""
    made: list[TemporalTestEnvironment] = []

    def make(**options: Any) -> TemporalTestEnvironment:
        options.setdefault("workflows", WORKFLOWS)
        env = TemporalTestEnvironment(**options)
        made.append(env)
        return env

    yield make
    replayed = [run for env in made for run in env.runs.values()]
    failures = {k: v for env in made for k, v in replay_failures(env).items()}
    assert failures == {}
    assert replayed, "the test recorded no Temporal history"
