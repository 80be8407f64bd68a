"""Workflows that call local activities: retried locally by policy, failing for good, mixed
with a timer, and retried past the local retry threshold (which core hands to a timer)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

QUICK = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@activity.defn
def flaky_lookup(key: str) -> str:
    """Fails on its first two attempts; says how it ran on the third."""
    info = activity.info()
    if info.attempt < 3:
        raise ApplicationError(f"{key} not ready")
    return f"{key} on attempt {info.attempt} (local: {info.is_local})"


@activity.defn
async def refuse(key: str) -> str:
    raise ApplicationError(f"{key} refused", non_retryable=True)


@workflow.defn
class LocalLookup:
    """A local activity retried locally, a timer, then a local activity that fails for good."""

    @workflow.run
    async def run(self, key: str) -> list[str]:
        found = await workflow.execute_local_activity(
            flaky_lookup, key, start_to_close_timeout=timedelta(seconds=5), retry_policy=QUICK
        )
        await workflow.sleep(timedelta(minutes=1))
        try:
            await workflow.execute_local_activity(
                refuse, key, start_to_close_timeout=timedelta(seconds=5)
            )
        except ActivityError as err:
            return [found, f"refused: {err.cause}"]
        return [found, "accepted"]


@workflow.defn
class SlowLocalRetry:
    """A local activity whose retry backoff passes its local retry threshold."""

    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_local_activity(
            flaky_lookup,
            key,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(minutes=5)),
            local_retry_threshold=timedelta(minutes=1),
        )


WORKFLOWS = [LocalLookup, SlowLocalRetry]
ACTIVITIES = [flaky_lookup, refuse]
