"""The fidelity check every Temporal environment test gets: the plugin's ``wf_temporal_env``
replays, at teardown, each history the test's environments recorded through temporalio's own
``Replayer`` (offline, no server) and requires a clean replay. ``temporal_env`` adds this
suite's workflows by default and requires that the test recorded something."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from temporal_flows import WORKFLOWS

from wfkit.testing.temporal import TemporalTestEnvironment


@pytest.fixture
def temporal_env(
    wf_temporal_env: Callable[..., TemporalTestEnvironment],
) -> Iterator[Callable[..., TemporalTestEnvironment]]:
    made: list[TemporalTestEnvironment] = []

    def make(**options: Any) -> TemporalTestEnvironment:
        options.setdefault("workflows", WORKFLOWS)
        env = wf_temporal_env(**options)
        made.append(env)
        return env

    yield make
    assert any(env.runs for env in made), "the test recorded no Temporal history"
