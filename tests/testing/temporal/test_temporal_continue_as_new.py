"""Continue-as-new: the run closes with ``WorkflowExecutionContinuedAsNew``, a new run of the
same workflow id starts with the new input (new run id, the continued and first run ids set as a
server sets them), the test's handle follows the chain to the last run's result, each run keeps
its own history, crashes and ``verify_temporal`` work across it, and every run's history replays
in temporalio's Replayer (the conftest's check, over ``env.all_runs``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from lifecycle_flows import LIFECYCLE_WORKFLOWS, Counter, Looping, SearchAttributeUpsert, Tally
from temporal_flows import ACTIVITIES, WORKFLOWS, notify
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType

from wfkit.testing.temporal import NotEmulated, TemporalCrash, TemporalPlan, verify_temporal
from wfkit.testing.temporal.replay import replay_problem

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _types(run) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in run.history().events]


def test_a_continued_run_closes_and_the_next_run_starts_with_the_new_input(temporal_env):
    env = temporal_env(workflows=WORKFLOWS + LIFECYCLE_WORKFLOWS, activities=ACTIVITIES)
    result = asyncio.run(env.execute(Looping.run, Tally(0, 0), id="loop"))
    # 0 + 1 + 2, in the fourth run, which names the third as continued and the first as first.
    assert result == "total 3; run run-4 continued run-3, first run-1"
    assert env.now == START + timedelta(seconds=3)  # a second of sleep in each of three runs
    assert [run.run_id for run in env.all_runs] == ["run-1", "run-2", "run-3", "run-4"]
    assert env.runs["loop"] is env.all_runs[-1]  # the id's newest run
    assert env.all_runs[0].runs == env.all_runs
    assert env.executions(notify) == 3
    first, second = env.all_runs[0], env.all_runs[1]
    assert _types(first)[-1] == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    closing = first.history().events[-1].workflow_execution_continued_as_new_event_attributes
    assert closing.new_execution_run_id == "run-2"
    assert closing.workflow_type.name == "Looping"
    assert closing.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    started = second.history().events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id == "run-1"
    assert started.first_execution_run_id == "run-1"
    assert started.original_execution_run_id == "run-2"
    assert started.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    when = second.history().events[0].event_time.ToDatetime(tzinfo=timezone.utc)
    assert when == START + timedelta(seconds=1)
    assert _types(env.all_runs[-1])[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    # Each run's history on its own replays in temporalio's Replayer.
    for run in env.all_runs:
        assert replay_problem(run.history(), env.workflow_classes) is None


def test_signals_and_queries_by_handle_or_id_go_to_the_newest_run(temporal_env):
    env = temporal_env(workflows=WORKFLOWS + LIFECYCLE_WORKFLOWS, activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Counter.run, 0, 10, id="count")
        await run.signal(Counter.add, 2)
        await run.signal(Counter.add, 3)  # the second signal: the run continues as new
        assert run.done and len(run.runs) == 2
        assert await run.query(Counter.value) == 5  # answered by the second run
        await env.signal("count", Counter.add, 4)
        await run.signal(Counter.add, 1)  # the handle of the first run: sent to the newest
        assert await env.query("count", Counter.value) == 10
        return run, await run.result()

    run, result = asyncio.run(scenario())
    assert result == 10
    assert len(run.runs) == 2  # the second run reached the limit and completed
    signals = [
        [
            e.workflow_execution_signaled_event_attributes.input.payloads[0].data
            for e in r.history().events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        for r in run.runs
    ]
    assert signals == [[b"2", b"3"], [b"4", b"1"]]
    started = run.runs[1].history().events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].data == b"5"  # the count carried into the next run


def test_a_crash_in_a_later_run_rebuilds_that_run_from_its_own_history(temporal_env):
    env = temporal_env(workflows=WORKFLOWS + LIFECYCLE_WORKFLOWS, activities=ACTIVITIES)
    env.crash_after(notify, nth=2)  # in the second run
    env.crash_at_timer(3)  # the third run's sleep
    result = asyncio.run(env.execute(Looping.run, Tally(0, 0), id="loop"))
    assert result.startswith("total 3; run run-4")
    assert [run.crashes for run in env.all_runs] == [0, 1, 1, 0]


def test_verify_temporal_explores_crashes_across_runs():
    summary = verify_temporal(
        Looping.run,
        Tally(0, 0),
        activities=ACTIVITIES,
        max_examples=10,
        derandomize=True,
    )
    # Three notify attempts x two crash points + three timers, each a single-fault plan.
    assert summary.crashed >= 9
    summary = verify_temporal(
        Looping.run,
        Tally(0, 0),
        activities=ACTIVITIES,
        plan=TemporalPlan(crashes=(TemporalCrash("after", "notify", 3),)),
        invariant=lambda outcome: outcome.result.startswith("total 3"),
    )
    assert summary.examples == 1 and summary.crashed == 1


def test_a_feature_not_emulated_is_named_in_one_line(temporal_env):
    env = temporal_env(workflows=WORKFLOWS + LIFECYCLE_WORKFLOWS, activities=ACTIVITIES)
    with pytest.raises(NotEmulated) as failed:
        asyncio.run(env.execute(SearchAttributeUpsert.run, id="s-1"))
    assert failed.value.one_line() == (
        "search attribute upserts not emulated yet by wfkit's Temporal test environment"
        " (see docs/testing-temporal.md, 'Scope')"
    )
