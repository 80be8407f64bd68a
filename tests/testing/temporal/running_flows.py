"""Workflows whose activities run while the workflow runs: an activity that heartbeats until it
is cancelled (in the spirit of temporalio/samples-python's ``hello_cancellation``), one that
stops heartbeating, and a workflow that races an activity against a timer. Real waits here are
tens of milliseconds, so the tests that use them stay well under a second."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import NoReturn

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

BEAT = 0.02  # real seconds between heartbeats
ONCE = RetryPolicy(maximum_attempts=1)


@activity.defn
def beat_until_cancelled() -> NoReturn:
    """Sync, in a thread: heartbeats until the worker raises the cancellation in it."""
    while True:
        activity.heartbeat()
        time.sleep(BEAT)


@activity.defn
async def beat_until_cancelled_async() -> NoReturn:
    """Async: heartbeats until its task is cancelled."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(BEAT)


@activity.defn
def clean_up() -> str:
    return "cleaned up"


@activity.defn
async def go_quiet(seconds: float) -> str:
    """Heartbeats once, then works ``seconds`` without a heartbeat."""
    activity.heartbeat("started")
    await asyncio.sleep(seconds)
    return "done"


@activity.defn
async def complete_elsewhere() -> str:
    """Leaves its completion to someone holding its task token (not emulated)."""
    activity.raise_complete_async()


@workflow.defn
class CompletedElsewhere:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            complete_elsewhere, start_to_close_timeout=timedelta(seconds=5)
        )


@workflow.defn
class CleanupOnCancel:
    """Runs an endless activity; cleans up however it ends (cancelling the workflow ends it)."""

    @workflow.run
    async def run(self) -> None:
        try:
            await workflow.execute_activity(
                beat_until_cancelled,
                start_to_close_timeout=timedelta(seconds=1000),
                heartbeat_timeout=timedelta(seconds=2),
            )
        finally:
            await workflow.execute_activity(clean_up, start_to_close_timeout=timedelta(seconds=5))


@workflow.defn
class CancelAfter:
    """Starts an endless async activity, cancels it after a timer with the given cancellation
    type, and reports what the activity's handle raised and when (after a last timer, so a
    running activity's end is recorded before the workflow closes)."""

    @workflow.run
    async def run(self, cancellation_type: str) -> str:
        handle = workflow.start_activity(
            beat_until_cancelled_async,
            start_to_close_timeout=timedelta(seconds=100),
            heartbeat_timeout=timedelta(seconds=2),
            cancellation_type=ActivityCancellationType[cancellation_type],
        )
        await workflow.sleep(timedelta(seconds=0.1))
        handle.cancel()
        try:
            await handle
            outcome = "completed"
        except ActivityError as err:
            outcome = f"{type(err.cause).__name__} at {workflow.now():%S.%f}"
        await workflow.sleep(timedelta(seconds=0.1))
        return outcome


@workflow.defn
class AbandonQuiet:
    """Abandons a running activity at once, then waits longer than the activity takes: the
    activity still ends (the server records it), and the workflow did not wait for it."""

    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            go_quiet,
            0.1,
            start_to_close_timeout=timedelta(seconds=10),
            cancellation_type=ActivityCancellationType.ABANDON,
        )
        await workflow.sleep(timedelta(seconds=0.05))
        handle.cancel()
        try:
            await handle
            outcome = "completed"
        except ActivityError as err:
            outcome = f"{type(err.cause).__name__} at {workflow.now():%S.%f}"
        await workflow.sleep(timedelta(seconds=0.2))
        return outcome


@workflow.defn
class QuietActivity:
    """One activity with the given heartbeat and start-to-close timeouts, retried by policy."""

    @workflow.run
    async def run(self, seconds: float, heartbeat: float, start_to_close: float) -> str:
        return await workflow.execute_activity(
            go_quiet,
            seconds,
            start_to_close_timeout=timedelta(seconds=start_to_close),
            heartbeat_timeout=timedelta(seconds=heartbeat) if heartbeat else None,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=30), backoff_coefficient=1, maximum_attempts=2
            ),
        )


@workflow.defn
class RaceTimer:
    """Races a slow activity against a shorter timer: which finished first."""

    @workflow.run
    async def run(self) -> list[str]:
        order: list[str] = []

        async def work() -> None:
            await workflow.execute_activity(
                go_quiet, 0.15, start_to_close_timeout=timedelta(seconds=5)
            )
            order.append("activity")

        async def timer() -> None:
            await workflow.sleep(timedelta(seconds=0.05))
            order.append("timer")

        await asyncio.gather(work(), timer())
        return order


@workflow.defn
class SignalWhileWorking:
    """Collects signals while its one activity works; returns those that came before its end."""

    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.signal
    def note(self, text: str) -> None:
        self.received.append(text)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_activity(go_quiet, 0.1, start_to_close_timeout=timedelta(seconds=5))
        return self.received


WORKFLOWS = [
    CleanupOnCancel,
    CancelAfter,
    AbandonQuiet,
    QuietActivity,
    RaceTimer,
    CompletedElsewhere,
    SignalWhileWorking,
]
ACTIVITIES = [
    beat_until_cancelled,
    beat_until_cancelled_async,
    clean_up,
    go_quiet,
    complete_elsewhere,
]
