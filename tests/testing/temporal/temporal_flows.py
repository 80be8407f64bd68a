"""Example Temporal workflows and activities for the environment's tests, written for wfkit in
the spirit of Temporal's public samples: a money transfer with compensations (a saga), and an
approval that waits for a signal or a timer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

QUICK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_attempts=3,
    non_retryable_error_types=["InsufficientFunds"],
)


@dataclass
class Transfer:
    source: str
    target: str
    amount: int
    reference: str


@activity.defn
def withdraw(transfer: Transfer) -> str:
    if transfer.amount > 1000:
        raise ApplicationError("not enough money", type="InsufficientFunds")
    return f"withdrew {transfer.amount} from {transfer.source}"


@activity.defn
async def deposit(transfer: Transfer) -> str:
    return f"deposited {transfer.amount} to {transfer.target} (attempt {activity.info().attempt})"


@activity.defn
def refund(transfer: Transfer) -> str:
    return f"refunded {transfer.amount} to {transfer.source}"


@workflow.defn
class MoneyTransfer:
    """Withdraw, then deposit; when the deposit fails for good, refund the withdrawal."""

    @workflow.run
    async def run(self, transfer: Transfer) -> list[str]:
        steps: list[str] = []
        options = {"start_to_close_timeout": timedelta(seconds=5), "retry_policy": QUICK_RETRY}
        steps.append(await workflow.execute_activity(withdraw, transfer, **options))
        try:
            steps.append(await workflow.execute_activity(deposit, transfer, **options))
        except ActivityError:
            steps.append(await workflow.execute_activity(refund, transfer, **options))
            raise ApplicationError("transfer rolled back", type="Reverted") from None
        return steps


@activity.defn
def notify(message: str) -> None:
    """Sends a message (here: nowhere)."""


@workflow.defn
class Approval:
    """Waits up to a day for an approve or reject signal; no answer means rejected."""

    def __init__(self) -> None:
        self.decision: str | None = None

    @workflow.run
    async def run(self, request: str) -> str:
        started = workflow.now()
        await workflow.execute_activity(
            notify, f"approve {request}?", start_to_close_timeout=timedelta(seconds=5)
        )
        try:
            await workflow.wait_condition(
                lambda: self.decision is not None, timeout=timedelta(days=1)
            )
        except asyncio.TimeoutError:
            self.decision = "timed out"
        waited = workflow.now() - started
        return f"{request}: {self.decision} after {int(waited.total_seconds())}s"

    @workflow.signal
    def decide(self, decision: str) -> None:
        self.decision = decision

    @workflow.query
    def status(self) -> str:
        return self.decision or "waiting"


@workflow.defn
class Reminders:
    """Sleeps (workflow.sleep and asyncio.sleep alike) and notifies, three times."""

    @workflow.run
    async def run(self, count: int) -> str:
        for i in range(count):
            if i % 2:
                await asyncio.sleep(60)
            else:
                await workflow.sleep(timedelta(minutes=1))
            await workflow.execute_activity(
                notify, f"reminder {i}", start_to_close_timeout=timedelta(seconds=5)
            )
        return workflow.now().isoformat()


# Which activity Drifting calls first: a test changes it between a crash and the replay, as a
# deploy of changed code would.
DRIFT = {"first": "withdraw"}


@workflow.defn
class Drifting:
    """Calls one activity, sleeps a minute, returns; its first call depends on DRIFT."""

    @workflow.run
    async def run(self, transfer: Transfer) -> str:
        first = withdraw if DRIFT["first"] == "withdraw" else refund
        done = await workflow.execute_activity(
            first, transfer, start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.sleep(timedelta(minutes=1))
        return done


@workflow.defn
class Parent:
    """Runs Reminders as a child workflow, and a failing child (Buggy's sibling, Failing)."""

    @workflow.run
    async def run(self) -> list[str]:
        done = await workflow.execute_child_workflow(Reminders.run, 1, id="child")
        try:
            await workflow.execute_child_workflow(Failing.run, id="failing-child")
        except ChildWorkflowError as failed:
            return [done, f"child failed: {failed.cause}"]
        return [done]


@workflow.defn
class Failing:
    """Fails the workflow (not the task): an ApplicationError."""

    @workflow.run
    async def run(self) -> None:
        info = workflow.info()
        parent = info.parent.workflow_id if info.parent else None
        raise ApplicationError(f"no luck (parent {parent})", type="NoLuck")


@workflow.defn
class Restarting:
    """Continues as new until the count is 0."""

    @workflow.run
    async def run(self, count: int) -> int:
        if count:
            workflow.continue_as_new(count - 1)
        return count


@workflow.defn
class Buggy:
    """Raises a plain Python error: Temporal fails the workflow task, not the workflow."""

    @workflow.run
    async def run(self) -> None:
        raise KeyError("oops")


# Which version of Patched is deployed: a test changes it between a crash and the replay.
PATCH_VERSION = {"deployed": 1}


@workflow.defn
class Patched:
    """v1 notifies "old"; v2 asks ``workflow.patched("notify-new")`` and notifies "new" (or,
    for a run recorded under v1, still "old"); v3 has ``deprecate_patch`` and only "new"."""

    @workflow.run
    async def run(self) -> list[str]:
        said = []
        for _ in range(2):
            version = PATCH_VERSION["deployed"]
            if version == 3:
                workflow.deprecate_patch("notify-new")
                new = True
            else:
                new = version == 2 and workflow.patched("notify-new")
            message = "new" if new else "old"
            await workflow.execute_activity(
                notify, message, start_to_close_timeout=timedelta(seconds=5)
            )
            said.append(message)
            await workflow.sleep(timedelta(minutes=1))
        return said


@activity.defn
def upload(parts: int) -> str:
    """Heartbeats the next part to upload, resuming from the last attempt's heartbeat."""
    details = activity.info().heartbeat_details
    start = details[0] if details else 0
    for part in range(start, parts):
        activity.heartbeat(part)
        if part == 2 and activity.info().attempt == 1:
            raise ApplicationError("connection reset")
    return f"uploaded parts {start}..{parts - 1} on attempt {activity.info().attempt}"


@workflow.defn
class Upload:
    """One long activity with a heartbeat timeout and an overall schedule-to-close limit."""

    @workflow.run
    async def run(self, parts: int) -> str:
        return await workflow.execute_activity(
            upload,
            parts,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(minutes=4), backoff_coefficient=1),
        )


@workflow.defn
class LocalTransfer:
    """A withdrawal as a local activity."""

    @workflow.run
    async def run(self, transfer: Transfer) -> str:
        return await workflow.execute_local_activity(
            withdraw, transfer, start_to_close_timeout=timedelta(seconds=5)
        )


WORKFLOWS = [
    MoneyTransfer,
    Approval,
    Reminders,
    Drifting,
    Parent,
    Buggy,
    Patched,
    Upload,
    Failing,
    Restarting,
    LocalTransfer,
]
ACTIVITIES = [withdraw, deposit, refund, notify, upload]
