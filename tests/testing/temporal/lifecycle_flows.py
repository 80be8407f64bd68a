"""Workflows for the environment's tests of a run's lifecycle and messages: continue-as-new (in
the spirit of temporalio/samples-python's hello_continue_as_new), updates with validators
(hello_update), cancelling a child and parent close policies (hello_child_workflow,
hello_cancellation), and signals to and cancellation of other workflows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporal_flows import notify
from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy


@dataclass
class Tally:
    iteration: int
    total: int


@workflow.defn
class Looping:
    """Adds the iteration to the total, sleeps a second, notifies, and continues as new until
    the last iteration; returns the total and what ``workflow.info()`` says about the chain."""

    @workflow.run
    async def run(self, tally: Tally) -> str:
        info = workflow.info()
        if tally.iteration == 3:
            return (
                f"total {tally.total}; run {info.run_id} continued {info.continued_run_id},"
                f" first {info.first_execution_run_id}"
            )
        await asyncio.sleep(1)
        await workflow.execute_activity(
            notify, f"iteration {tally.iteration}", start_to_close_timeout=timedelta(seconds=5)
        )
        workflow.continue_as_new(Tally(tally.iteration + 1, tally.total + tally.iteration))


@workflow.defn
class Counter:
    """Keeps a count that signals raise; continues as new (carrying the count) after every
    two signals, and ends when the count reaches ``limit``."""

    def __init__(self) -> None:
        self.count = 0
        self.seen = 0

    @workflow.run
    async def run(self, start: int, limit: int) -> int:
        self.count = start
        await workflow.wait_condition(lambda: self.seen == 2 or self.count >= limit)
        if self.count >= limit:
            return self.count
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(args=[self.count, limit])

    @workflow.signal
    def add(self, amount: int) -> None:
        self.count += amount
        self.seen += 1

    @workflow.query
    def value(self) -> int:
        return self.count


CUSTOM_KEYWORD = SearchAttributeKey.for_keyword("CustomKeywordField")


@workflow.defn
class SearchAttributeUpsert:
    """Upserts a search attribute, which the environment does not emulate."""

    @workflow.run
    async def run(self) -> None:
        workflow.upsert_search_attributes([CUSTOM_KEYWORD.value_set("x")])


LIFECYCLE_WORKFLOWS = [Looping, Counter, SearchAttributeUpsert]


SUPPORTED = {"en": "Hello", "fr": "Bonjour", "de": "Hallo"}


@workflow.defn
class Greeting:
    """Greets in a language an update sets (the validator rejects unsupported ones); an update
    can also wait for a notification activity; a signal approves, after which the workflow
    greets and ends."""

    def __init__(self) -> None:
        self.language = "en"
        self.approved = False
        self.changes: list[str] = []

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.approved)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return f"{SUPPORTED[self.language]}, {name} ({', '.join(self.changes)})"

    @workflow.update
    def set_language(self, language: str) -> str:
        previous, self.language = self.language, language
        self.changes.append(f"{previous}->{language}")
        return previous

    @set_language.validator
    def check_language(self, language: str) -> None:
        if language not in SUPPORTED:
            raise ValueError(f"{language} is not supported")

    @workflow.update
    async def announce(self, message: str) -> str:
        await workflow.execute_activity(
            notify, message, start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.sleep(timedelta(minutes=1))
        self.changes.append(f"announced {message}")
        return f"announced at {workflow.now().isoformat()}"

    @workflow.update
    def fail_update(self) -> None:
        raise ApplicationError("no can do", type="Refused")

    @workflow.signal
    def approve(self) -> None:
        self.approved = True
        self.changes.append("approved")


LIFECYCLE_WORKFLOWS.append(Greeting)


@workflow.defn
class Sleeper:
    """Sleeps ``hours``; when cancelled, notifies "cleanup" and ends cancelled."""

    @workflow.run
    async def run(self, hours: int) -> str:
        try:
            await workflow.sleep(timedelta(hours=hours))
        except asyncio.CancelledError:
            await workflow.execute_activity(
                notify, "cleanup", start_to_close_timeout=timedelta(seconds=5)
            )
            raise
        return "slept"


@workflow.defn
class CancellingParent:
    """Starts a Sleeper child, cancels it after a minute, reports how it ended."""

    @workflow.run
    async def run(self) -> str:
        child = await workflow.start_child_workflow(Sleeper.run, 24, id="sleeper")
        await workflow.sleep(timedelta(minutes=1))
        child.cancel()
        try:
            await child
        except ChildWorkflowError as ended:
            return f"child ended: {type(ended.cause).__name__}"
        return "child finished"


POLICIES = {
    "terminate": ParentClosePolicy.TERMINATE,
    "request_cancel": ParentClosePolicy.REQUEST_CANCEL,
    "abandon": ParentClosePolicy.ABANDON,
}


@workflow.defn
class ShortParent:
    """Starts a Sleeper child (an hour) with the parent close policy named and ends a minute
    later, while the child sleeps."""

    @workflow.run
    async def run(self, policy: str) -> str:
        await workflow.start_child_workflow(
            Sleeper.run, 1, id=f"sleeper-{policy}", parent_close_policy=POLICIES[policy]
        )
        await workflow.sleep(timedelta(minutes=1))
        return "parent done"


@workflow.defn
class Waiter:
    """Waits for a poke signal (or cancellation)."""

    def __init__(self) -> None:
        self.poked: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.poked is not None)
        return f"poked: {self.poked}"

    @workflow.signal
    def poke(self, value: str) -> None:
        self.poked = value


@workflow.defn
class Messenger:
    """Signals one workflow, cancels another, and signals a workflow that is not running."""

    @workflow.run
    async def run(self, target: str, victim: str) -> list[str]:
        said = []
        await workflow.get_external_workflow_handle(target).signal(Waiter.poke, "hello")
        said.append(f"signalled {target}")
        await workflow.get_external_workflow_handle(victim).cancel()
        said.append(f"cancelled {victim}")
        try:
            await workflow.get_external_workflow_handle("nobody").signal(Waiter.poke, "?")
        except ApplicationError as failed:
            said.append(f"nobody: {failed.type}")
        return said


LIFECYCLE_WORKFLOWS += [Sleeper, CancellingParent, ShortParent, Waiter, Messenger]
