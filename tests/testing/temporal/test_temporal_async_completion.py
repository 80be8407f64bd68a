"""Asynchronous activity completion: an activity that calls ``activity.raise_complete_async()``
stays started until a client's async activity handle completes, fails or heartbeats it; the
environment stands in for the client (``env.get_async_activity_handle``) and records what a
server records. An equivalent of temporalio's samples-python
``hello/hello_async_activity_completion.py`` runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from async_flows import (
    TOKENS,
    Approval,
    Correspondence,
    LocalApproval,
    Secretary,
    WithdrawnApproval,
    ask_approver,
)
from temporalio.api.enums.v1 import EventType
from temporalio.client import AsyncActivityCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from wfkit.testing.temporal import NotEmulated, TemporalTestEnvironment

WORKFLOWS = [Correspondence, Approval, WithdrawnApproval, LocalApproval]


def types(env: TemporalTestEnvironment, workflow_id: str) -> list[int]:
    return [e.event_type for e in env.runs[workflow_id].history().events]


@pytest.fixture(autouse=True)
def _tokens():
    TOKENS.clear()
    yield
    TOKENS.clear()


def test_the_samples_async_completion_runs_with_the_environment_as_client(temporal_env):
    secretary = Secretary(client=None)
    env = temporal_env(workflows=WORKFLOWS, activities=[secretary.write_letter])
    secretary.client = env  # the environment in the client's place
    result = asyncio.run(env.execute(Correspondence.run, "Ada", id="letter-1"))
    assert result == "Dear, Ada!"
    assert env.heartbeats["write_letter"] == [(0,), (1,), (2,)]
    history = types(env, "letter-1")
    scheduled = history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    assert history[scheduled + 1 : scheduled + 3] == [
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    ]
    # The activity took the real time of its three heartbeats; time skipping was locked.
    completed = env.runs["letter-1"].history().events[scheduled + 2]
    took = (
        completed.event_time.ToDatetime()
        - env.runs["letter-1"].history().events[scheduled].event_time.ToDatetime()
    )
    assert timedelta(seconds=0.1) <= took < timedelta(seconds=2)


def test_the_test_completes_an_activity_by_workflow_and_activity_id(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=[ask_approver])

    async def scenario():
        run = await env.start(Approval.run, "leave", 5.0, 1, id="a-1")
        handle = env.get_async_activity_handle(workflow_id="a-1", activity_id="1")
        await handle.heartbeat("reading")
        await env.sleep(timedelta(seconds=0.01))
        assert not run.done  # heartbeats do not complete it
        await handle.complete("approved")
        return await run.result()

    assert asyncio.run(scenario()) == "approved"
    assert env.heartbeats["ask_approver"] == [("reading",)]
    history = types(env, "a-1")
    completed = history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert history[completed - 2 : completed] == [
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    ]


def test_a_failure_through_the_handle_is_retried_by_the_policy(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=[ask_approver])

    async def scenario():
        run = await env.start(Approval.run, "leave", 5.0, 2, id="a-2")
        first = env.get_async_activity_handle(task_token=TOKENS[-1])
        await first.fail(ApplicationError("approver away"))
        await env.sleep(timedelta(seconds=1))  # the policy's backoff, then attempt 2
        assert len(TOKENS) == 2 and TOKENS[0] != TOKENS[1]
        with pytest.raises(RPCError) as stale:  # the first attempt's token is spent
            await first.complete("too late")
        assert stale.value.status == RPCStatusCode.NOT_FOUND
        await env.get_async_activity_handle(task_token=TOKENS[-1]).fail(
            ApplicationError("approver still away")
        )
        return await run.result()

    assert asyncio.run(scenario()) == "ApplicationError: approver still away"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED in types(env, "a-2")


def test_an_activity_no_one_heartbeats_times_out_and_its_handle_is_refused(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=[ask_approver])

    async def scenario():
        run = await env.start(Approval.run, "leave", 0.2, 1, id="a-3")
        result = await run.result()  # nobody answers: the heartbeat timeout passes
        with pytest.raises(RPCError, match="not waiting for an asynchronous completion"):
            await env.get_async_activity_handle(task_token=TOKENS[0]).complete("late")
        return result

    assert asyncio.run(scenario()) == "TimeoutError: activity timed out"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT in types(env, "a-3")


def test_a_requested_cancellation_reaches_the_handle_and_is_confirmed(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=[ask_approver])

    async def scenario():
        run = await env.start(WithdrawnApproval.run, "leave", 0.1, id="w-1")
        handle = env.get_async_activity_handle(task_token=TOKENS[0])
        await handle.heartbeat()  # not cancelled yet
        # The workflow withdraws the request (real time: someone outside holds the activity).
        await env.sleep(timedelta(seconds=0.1))
        with pytest.raises(AsyncActivityCancelledError):
            await handle.heartbeat("noticed")
        await handle.report_cancellation()
        return await run.result()

    assert asyncio.run(scenario()) == "withdrawn: CancelledError"
    history = types(env, "w-1")
    assert history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) < history.index(
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED
    )


def test_a_handle_needs_a_token_or_both_ids():
    env = TemporalTestEnvironment()
    with pytest.raises(ValueError, match="give task_token, or workflow_id and activity_id"):
        env.get_async_activity_handle(workflow_id="w-1")
    with pytest.raises(ValueError, match="not both"):
        env.get_async_activity_handle(task_token=b"t", workflow_id="w-1", activity_id="1")


def test_run_activity_names_async_completion_not_emulated():
    env = TemporalTestEnvironment()
    with pytest.raises(NotEmulated, match="raise_complete_async"):
        asyncio.run(env.run_activity(ask_approver, "leave"))


def test_a_local_activity_completing_async_is_named_not_emulated(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=[ask_approver])
    with pytest.raises(NotEmulated, match="raise_complete_async"):
        asyncio.run(env.execute(LocalApproval.run, "leave", id="l-1"))
