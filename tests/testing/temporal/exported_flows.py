"""A Temporal workflow whose source the ``--wfkit-histories`` tests copy into a pytester
project as ``flows.py`` (and change, for a deploy that breaks old histories)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def fetch_name(name: str) -> str:
    return name.upper()


@activity.defn
async def audit_greeting(name: str) -> None:
    return None


@workflow.defn(name="ExportedGreeting")
class ExportedGreeting:
    @workflow.run
    async def run(self, name: str) -> str:
        # CHANGE-HERE
        upper = await workflow.execute_activity(
            fetch_name, name, start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.sleep(timedelta(minutes=1))
        return "hello " + upper
