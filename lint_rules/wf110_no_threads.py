"""Threads and racing concurrency in workflow code.

What: `threading`, `concurrent.futures`, `multiprocessing`, `asyncio.to_thread`,
`run_in_executor`, `asyncio.wait` and `asyncio.as_completed` (completion order); in wfkit and
DBOS workflows also `asyncio.gather` / `create_task` / `ensure_future` over durable calls.
Temporal's deterministic event loop makes `gather` and `create_task` safe there. In an async
DBOS workflow, `await asyncio.to_thread(step, ...)` awaited at once is how DBOS itself runs a
sync step: one call at a time races nothing, so it is not reported (a `to_thread` task started
and awaited later is). Making a thread primitive in the workflow (`threading.Event()`) is this
rule's; waiting on one made at module level, which every run shares (`READY.wait()`,
`JOBS.get()`), is a blocking wait: WF107.

Why: the order in which threads or tasks finish depends on scheduling, so the order in which
durable operations are recorded differs between the first run and a replay.

Use instead: `ctx.parallel()` in wfkit, `workflow.wait()` / `asyncio.gather()` in Temporal,
`DBOS.start_workflow()` handles in DBOS.
"""

from __future__ import annotations

from wfkit.lint.rule import LintRule


class NoThreads(LintRule):
    CODE = "WF110"
    NAME = "NoThreads"
    MESSAGE = "threads or racing concurrency in workflow code"
    VALID = [
        """\
# near miss: gather is deterministic inside a Temporal workflow
import asyncio
from datetime import timedelta
from temporalio import workflow


@workflow.defn
class Fanout:
    @workflow.run
    async def run(self, names: list[str]) -> list[str]:
        t = timedelta(seconds=30)
        return await asyncio.gather(*[
            workflow.execute_activity("greet", n, start_to_close_timeout=t) for n in names])
""",
        """\
# near miss: a thread pool inside a step
from concurrent.futures import ThreadPoolExecutor
from wfkit import step


@step
def fetch_all(urls: list[str]) -> list[int]:
    with ThreadPoolExecutor() as pool:
        return list(pool.map(len, urls))
""",
    ]
    INVALID = [
        """\
import asyncio
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> list[int]:
    return await asyncio.gather(ctx.step(fetch_a), ctx.step(fetch_b))


async def fetch_a() -> int: ...
async def fetch_b() -> int: ...
""",
        """\
# alias: threading imported under another name
import threading as th
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    th.Thread(target=print).start()
""",
        """\
import asyncio
from temporalio import workflow


@workflow.defn
class Race:
    @workflow.run
    async def run(self, tasks: list) -> None:
        for done in asyncio.as_completed(tasks):
            await done
""",
    ]
