"""A blocking or non-durable sleep or wait in workflow code.

What: `time.sleep`, `threading.Timer`, and `asyncio.sleep` in wfkit and DBOS workflows. In a
Temporal workflow `asyncio.sleep` is a durable timer and fine. Also a blocking wait on a
module-level threading or queue object (`READY = threading.Event()` at module level, then
`READY.wait()` in the workflow): `Event.wait()`, `Condition.wait()` / `wait_for()`,
`Barrier.wait()`, `Semaphore.acquire()`, `Lock.acquire()` with a timeout, `queue.Queue.get()`
(and their `multiprocessing` twins). Not reported: the non-blocking forms (`get(block=False)`,
`get_nowait()`, `acquire(blocking=False)`), `set()` / `is_set()`, a plain `with LOCK:`, and
objects the workflow makes itself (making a thread primitive there is WF110).

Why: a plain sleep is not recorded: a replay sleeps again (or a crash loses the wait), and a
blocking sleep holds a worker thread for its whole duration. A module-level event or queue is
one object shared by every run in the worker process and by no other process: whether and when
the wait returns depends on what other runs (or threads) did, a replay on another worker waits
on a different object, and the worker thread is held meanwhile.

Use instead: `ctx.sleep()` in wfkit, `workflow.sleep()` / `asyncio.sleep()` in Temporal,
`DBOS.sleep()` in DBOS (`await DBOS.sleep_async()` in an `async def` workflow, where
`DBOS.sleep()` raises). For a wait: `ctx.wait_for_event()` (or `ctx.sleep()`) in wfkit,
`workflow.wait_condition()` on workflow state set by a signal or update in Temporal,
`DBOS.recv()` (`await DBOS.recv_async()`) in DBOS.

Fix: only with `--unsafe-fixes`. A durable sleep is a durable operation: runs already in flight
were recorded without it and stop replaying at that point (`NonDeterminismError`). Gate the new
timer (`if ctx.patched("durable-sleep"):` / `workflow.patched(...)`), or deploy the fix when no
run of the workflow is in flight (`wfkit compat` tells).
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import Hit, Invalid, LintRule


class NoBlockingSleep(LintRule):
    CODE = "WF107"
    NAME = "NoBlockingSleep"
    MESSAGE = "blocking or non-durable sleep or wait in workflow code"
    VALID = [
        """\
# near miss: asyncio.sleep is a durable timer inside a Temporal workflow
import asyncio
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> None:
        await asyncio.sleep(60)
""",
        """\
# near miss: the workflow sets a module-level Event and never waits on it; a local queue
import queue
import threading
from wfkit import Context, workflow

READY = threading.Event()


@workflow
def announce(ctx: Context) -> bool:
    READY.set()
    jobs = queue.Queue()
    return READY.is_set() and jobs.empty()
""",
        """\
# near miss: a non-blocking get and a plain lock
import queue
import threading
from dbos import DBOS

JOBS = queue.Queue()
LOCK = threading.Lock()


@DBOS.workflow()
def drain() -> list:
    with LOCK:
        LOCK.acquire(blocking=False)
        return [JOBS.get(block=False), JOBS.get_nowait()]
""",
        """\
# near miss: sleeping in a step is fine
import time
from dbos import DBOS


@DBOS.step()
def wait_a_bit() -> None:
    time.sleep(1)
""",
    ]
    INVALID = [
        """\
# a module-level Event waited on in a Temporal workflow: use workflow.wait_condition()
import threading
from temporalio import workflow

READY = threading.Event()


@workflow.defn
class Gate:
    @workflow.run
    async def run(self) -> None:
        READY.wait(timeout=30)
""",
        """\
# alias: a queue's blocking get in an async DBOS workflow: use await DBOS.recv_async()
from queue import Queue as Inbox
from dbos import DBOS

INBOX = Inbox()


@DBOS.workflow()
async def consume() -> str:
    return INBOX.get()
""",
        Invalid(
            """\
# an async DBOS workflow: DBOS.sleep() raises there, the fix awaits DBOS.sleep_async()
import time
from dbos import DBOS


@DBOS.workflow()
async def process() -> None:
    time.sleep(30)
""",
            fixed="""\
# an async DBOS workflow: DBOS.sleep() raises there, the fix awaits DBOS.sleep_async()
import time
from dbos import DBOS


@DBOS.workflow()
async def process() -> None:
    await DBOS.sleep_async(30)
""",
            unsafe=True,
        ),
        Invalid(
            """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    time.sleep(5)
""",
            fixed="""\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    ctx.sleep(5)
""",
            unsafe=True,
        ),
        Invalid(
            """\
# alias: sleep imported under another name, in a DBOS workflow
from time import sleep as pause
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    pause(30)
""",
            fixed="""\
# alias: sleep imported under another name, in a DBOS workflow
from time import sleep as pause
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    DBOS.sleep(30)
""",
            unsafe=True,
        ),
        Invalid(
            """\
import asyncio
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> None:
    await asyncio.sleep(1)
""",
            fixed="""\
import asyncio
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> None:
    await ctx.sleep(1)
""",
            unsafe=True,
        ),
    ]

    def on_hit(self, hit: Hit, ctx) -> None:
        if not ctx.condition_holds(hit):
            return
        node = hit.node
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and ctx.resolve(node.value) is None
        ):
            # a method of a module-level object (READY.wait): name the object and what it is
            owner = hit.qualname.rpartition(".")[0]
            subject = f"{ctx.code_for(node)}() on a module-level {owner}, shared by every run"
            ctx.report_hit(self, hit, subject)
        else:
            ctx.report_hit(self, hit)
