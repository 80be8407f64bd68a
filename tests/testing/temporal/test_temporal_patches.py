"""``workflow.patched`` / ``deprecate_patch``: the markers are in the history as core records
them (MarkerRecorded ``core_patch`` with the patch id, then the TemporalChangeVersion upsert),
temporalio's Replayer accepts them, and a crash honours them: a run recorded under v1 and
rebuilt on v2 code takes the old branch, one recorded under v2 the new one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import temporalio.converter
from temporal_flows import PATCH_VERSION, WORKFLOWS, Patched, notify
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

CONVERTER = temporalio.converter.DataConverter.default.payload_converter


@pytest.fixture
def deploy() -> Iterator[dict[str, int]]:
    PATCH_VERSION["deployed"] = 1
    yield PATCH_VERSION
    PATCH_VERSION["deployed"] = 2  # what the teardown's Replayer check replays with


def _run_with_a_crash(temporal_env, deploy, recorded_under: int, rebuilt_on: int):
    env = temporal_env(activities=[notify])
    mock = env.mock(notify)
    deploy["deployed"] = recorded_under
    run = asyncio.run(env.start(Patched.run, id="p-1"))
    run.crash()
    deploy["deployed"] = rebuilt_on
    result = asyncio.run(run.result())
    return run, result, [args[0] for args in mock.calls]


def _markers(history) -> list[tuple[str, str, bool]]:
    out = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            attrs = event.marker_recorded_event_attributes
            (patch_id,) = CONVERTER.from_payloads(attrs.details["patch_id"].payloads)
            (deprecated,) = CONVERTER.from_payloads(attrs.details["deprecated"].payloads)
            out.append((attrs.marker_name, patch_id, deprecated))
    return out


def _replays(history, version: int) -> str | None:
    PATCH_VERSION["deployed"] = version
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())
    result = asyncio.run(replayer.replay_workflow(history, raise_on_replay_failure=False))
    return None if result.replay_failure is None else repr(result.replay_failure)


def test_a_patch_is_recorded_as_core_records_it(temporal_env, deploy):
    deploy["deployed"] = 2
    env = temporal_env(activities=[notify])
    assert asyncio.run(env.execute(Patched.run, id="p-1")) == ["new", "new"]
    history = env.runs["p-1"].history()
    assert _markers(history) == [("core_patch", "notify-new", False)]  # memoized: once
    (upsert,) = [
        e.upsert_workflow_search_attributes_event_attributes.search_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    assert CONVERTER.from_payloads([upsert.indexed_fields["TemporalChangeVersion"]]) == [
        ["notify-new"]
    ]
    assert _replays(history, 2) is None  # the Replayer accepts the markers
    # Rolled back to v1 (no patched call): core skips the marker; the commands still match.
    assert _replays(history, 1) is None


def test_a_run_recorded_under_v1_takes_the_old_branch_on_v2_after_a_crash(temporal_env, deploy):
    run, result, said = _run_with_a_crash(temporal_env, deploy, recorded_under=1, rebuilt_on=2)
    assert result == ["old", "old"]
    assert said == ["old", "old"]
    assert run.crashes == 1 and _markers(run.history()) == []
    assert _replays(run.history(), 2) is None
    assert _replays(run.history(), 1) is None


def test_a_run_recorded_under_v2_keeps_the_new_branch_after_a_crash(temporal_env, deploy):
    run, result, _ = _run_with_a_crash(temporal_env, deploy, recorded_under=2, rebuilt_on=2)
    assert result == ["new", "new"]
    assert _markers(run.history()) == [("core_patch", "notify-new", False)]
    assert _replays(run.history(), 2) is None


def test_deprecate_patch_replays_a_v2_history_and_records_a_deprecated_marker(temporal_env, deploy):
    run, result, _ = _run_with_a_crash(temporal_env, deploy, recorded_under=2, rebuilt_on=3)
    assert result == ["new", "new"]
    deploy["deployed"] = 3
    env = temporal_env(activities=[notify])
    env.mock(notify)
    assert asyncio.run(env.execute(Patched.run, id="p-3")) == ["new", "new"]
    assert _markers(env.runs["p-3"].history()) == [("core_patch", "notify-new", True)]
    assert _replays(env.runs["p-3"].history(), 3) is None
    assert _replays(run.history(), 3) is None  # v3 replays what v2 recorded
