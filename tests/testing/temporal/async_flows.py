"""Activities completed asynchronously (``activity.raise_complete_async()``), by someone
holding their task token, and workflows that run them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType


@dataclass
class Letter:
    salutation: str
    to: str


class Secretary:
    """Takes a letter and answers it later, from a task of its own, through a client's async
    activity handle (any object with ``get_async_activity_handle``: a Temporal client, or the
    test environment in its place)."""

    def __init__(self, client: Any, pause: float = 0.05) -> None:
        self.client = client
        self.pause = pause
        self.pending: set[asyncio.Task[None]] = set()

    @activity.defn(name="write_letter")
    async def write_letter(self, letter: Letter) -> str:
        task = asyncio.create_task(self._answer(activity.info().task_token, letter))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        activity.raise_complete_async()

    async def _answer(self, token: bytes, letter: Letter) -> None:
        handle = self.client.get_async_activity_handle(task_token=token)
        for page in range(3):
            await handle.heartbeat(page)
            await asyncio.sleep(self.pause)
        await handle.complete(f"{letter.salutation}, {letter.to}!")


@workflow.defn
class Correspondence:
    @workflow.run
    async def run(self, to: str) -> str:
        return await workflow.execute_activity_method(
            Secretary.write_letter,
            Letter("Dear", to),
            start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=timedelta(seconds=2),
        )


TOKENS: list[bytes] = []


@activity.defn
async def ask_approver(request: str) -> str:
    """Leaves the answer to an approver outside, who has the task token."""
    TOKENS.append(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class Approval:
    """Waits for an outside approver; reports a failure of the activity instead of failing."""

    @workflow.run
    async def run(self, request: str, heartbeat_seconds: float, attempts: int) -> str:
        try:
            return await workflow.execute_activity(
                ask_approver,
                request,
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=heartbeat_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1), maximum_attempts=attempts
                ),
            )
        except ActivityError as err:
            return f"{type(err.cause).__name__}: {err.cause}"


@workflow.defn
class WithdrawnApproval:
    """Asks, then withdraws the request after ``seconds`` and waits for the approver to
    confirm."""

    @workflow.run
    async def run(self, request: str, seconds: float) -> str:
        handle = workflow.start_activity(
            ask_approver,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.sleep(timedelta(seconds=seconds))
        handle.cancel()
        try:
            return await handle
        except ActivityError as err:
            return f"withdrawn: {type(err.cause).__name__}"


@workflow.defn
class LocalApproval:
    """Runs the approver as a local activity, which cannot complete asynchronously."""

    @workflow.run
    async def run(self, request: str) -> str:
        return await workflow.execute_local_activity(
            ask_approver, request, start_to_close_timeout=timedelta(seconds=5)
        )
