"""Workflow updates: ``run.update`` / ``env.update`` deliver an update as core's DoUpdate job;
a validator's rejection leaves no event, an accepted update records ``UpdateAccepted`` and
``UpdateCompleted`` as the server does; the result or the error reaches the test; an update that
waits for an activity and a timer is waited for on virtual time; a crash rebuilds the instance
with the accepted updates replayed; every history replays in temporalio's Replayer (conftest)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from lifecycle_flows import LIFECYCLE_WORKFLOWS, Greeting
from temporal_flows import ACTIVITIES, WORKFLOWS, notify
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _types(run) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in run.history().events]


def _env(temporal_env):
    return temporal_env(workflows=WORKFLOWS + LIFECYCLE_WORKFLOWS, activities=ACTIVITIES)


def test_an_accepted_update_records_accepted_and_completed_and_returns_its_result(temporal_env):
    env = _env(temporal_env)

    async def scenario():
        run = await env.start(Greeting.run, "ada", id="g-1")
        previous = await run.update(Greeting.set_language, "fr", id="lang-1")
        await run.signal(Greeting.approve)
        return run, previous, await run.result()

    run, previous, result = asyncio.run(scenario())
    assert previous == "en"
    assert result == "Bonjour, ada (en->fr, approved)"
    types = _types(run)
    accepted = types.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    assert types[accepted - 1] == "WORKFLOW_TASK_COMPLETED"
    assert types[accepted + 1] == "WORKFLOW_EXECUTION_UPDATE_COMPLETED"
    events = run.history().events
    attrs = events[accepted].workflow_execution_update_accepted_event_attributes
    assert attrs.protocol_instance_id == "lang-1"
    assert attrs.accepted_request.meta.update_id == "lang-1"
    assert attrs.accepted_request.input.name == "set_language"
    assert attrs.accepted_request.input.args.payloads[0].data == b'"fr"'
    done = events[accepted + 1].workflow_execution_update_completed_event_attributes
    assert done.accepted_event_id == events[accepted].event_id
    assert done.meta.update_id == "lang-1"
    assert done.outcome.success.payloads[0].data == b'"en"'


def test_a_rejected_update_leaves_no_event_and_raises_the_validators_error(temporal_env):
    env = _env(temporal_env)

    async def scenario():
        run = await env.start(Greeting.run, "ada", id="g-2")
        before = len(run.history().events)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await env.update("g-2", Greeting.set_language, "xx")
        assert len(run.history().events) == before  # not even a workflow task
        run.crash()  # a rebuild must not see the rejected update either
        await run.update("set_language", "de")
        await run.signal("approve")
        return rejected.value.cause, await run.result()

    cause, result = asyncio.run(scenario())
    assert isinstance(cause, ApplicationError) and cause.message == "xx is not supported"
    assert result == "Hallo, ada (en->de, approved)"


def test_a_failing_handler_completes_the_update_with_its_failure(temporal_env):
    env = _env(temporal_env)

    async def scenario():
        run = await env.start(Greeting.run, "ada", id="g-3")
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await run.update(Greeting.fail_update)
        return run, failed.value.cause

    run, cause = asyncio.run(scenario())
    assert isinstance(cause, ApplicationError) and cause.type == "Refused"
    completed = run.history().events[-1]
    assert completed.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    outcome = completed.workflow_execution_update_completed_event_attributes.outcome
    assert outcome.failure.message == "no can do"
    assert not run.done  # an update's failure is not the workflow's


def test_an_update_that_waits_is_waited_for_on_virtual_time_and_survives_a_crash(temporal_env):
    env = _env(temporal_env)
    env.crash_after(notify)  # the worker dies while the update's handler is running

    async def scenario():
        run = await env.start(Greeting.run, "ada", id="g-4")
        said = await run.update(Greeting.announce, "hello")
        await run.signal(Greeting.approve)
        return run, said, await run.result()

    run, said, result = asyncio.run(scenario())
    assert said == "announced at 2026-01-01T00:01:00+00:00"
    assert env.now == START + timedelta(minutes=1)
    assert result == "Hello, ada (announced hello, approved)"
    assert run.crashes == 1 and env.executions(notify) == 1
    types = _types(run)
    assert types.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") < types.index("TIMER_FIRED")
    assert types.index("TIMER_FIRED") < types.index("WORKFLOW_EXECUTION_UPDATE_COMPLETED")


def test_signals_and_updates_reach_the_workflow_in_the_order_sent(temporal_env):
    env = _env(temporal_env)

    async def scenario():
        run = await env.start(Greeting.run, "ada", id="g-5")
        await run.update(Greeting.set_language, "de")
        await run.signal(Greeting.approve)  # the run may end now (no handler is running)
        return run, await run.result()

    run, result = asyncio.run(scenario())
    assert result == "Hallo, ada (en->de, approved)"
    types = _types(run)
    assert types.index("WORKFLOW_EXECUTION_UPDATE_COMPLETED") < types.index(
        "WORKFLOW_EXECUTION_SIGNALED"
    )
    with pytest.raises(ApplicationError, match="cannot update workflow 'g-5': it has closed"):
        asyncio.run(run.update(Greeting.set_language, "fr"))
