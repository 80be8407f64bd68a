"""What public Temporal and DBOS code showed about the rules' advice and fixes (issue 12):
advice in each dialect's words, async DBOS sleeps, and fixes that would change behaviour are
unsafe (naive vs aware datetimes; a fix that adds a durable operation)."""

from __future__ import annotations

from lint_helpers import lint_text

ASYNC_DBOS = """\
import time
from dbos import DBOS


@DBOS.workflow()
async def nightly() -> None:
    time.sleep(30)
"""


def test_an_async_dbos_workflow_is_told_and_fixed_with_sleep_async() -> None:
    [finding] = lint_text(ASYNC_DBOS).findings
    assert finding.code == "WF107" and finding.message.endswith("use await DBOS.sleep_async()")
    assert finding.fix == "unsafe"
    assert lint_text(ASYNC_DBOS, fix=True).fixed_text == ASYNC_DBOS  # not with --fix alone
    fixed = lint_text(ASYNC_DBOS, fix=True, unsafe_fixes=True).fixed_text
    assert fixed is not None and "    await DBOS.sleep_async(30)\n" in fixed
    sync = lint_text(ASYNC_DBOS.replace("async def", "def"), fix=True, unsafe_fixes=True)
    assert sync.fixed_text is not None and "    DBOS.sleep(30)\n" in sync.fixed_text


WALL_CLOCK = """\
import time
from datetime import datetime
from wfkit import Context, workflow


@workflow
def stamp(ctx: Context) -> float:
    started = datetime.now()
    return time.time()
"""


def test_a_naive_datetime_becoming_an_aware_one_is_an_unsafe_fix() -> None:
    found = {f.line: f.fix for f in lint_text(WALL_CLOCK).findings}
    assert found == {8: "unsafe", 9: "safe"}  # datetime.now() naive -> aware; time.time() same
    safe = lint_text(WALL_CLOCK, fix=True).fixed_text
    assert safe is not None and "datetime.now()" in safe and "ctx.now().timestamp()" in safe


def test_a_fix_that_adds_a_durable_timer_is_unsafe() -> None:
    source = (
        "import time\nfrom wfkit import Context, workflow\n\n\n@workflow\n"
        "def flow(ctx: Context) -> None:\n    time.sleep(5)\n"
    )
    [finding] = lint_text(source).findings
    assert finding.fix == "unsafe"
    assert lint_text(source, fix=True).fixed_text == source


def test_advice_in_temporal_words_and_thread_identity_is_environment() -> None:
    source = """\
import os
import threading
from temporalio import workflow


@workflow.defn
class Audit:
    @workflow.run
    async def run(self) -> str:
        return os.environ["REGION"] + threading.current_thread().name
"""
    findings = lint_text(source).findings
    assert [f.code for f in findings] == ["WF109", "WF109"]
    assert all("value read in an activity" in f.message for f in findings)
    assert "asyncio.gather" not in findings[1].message


def test_an_awaited_to_thread_in_an_async_dbos_workflow_races_nothing() -> None:
    source = """\
import asyncio
from dbos import DBOS


@DBOS.step()
def charge(x: int) -> int:
    return x


@DBOS.workflow()
async def pay(x: int) -> int:
    one = await asyncio.to_thread(charge, x)
    task = asyncio.to_thread(charge, x)
    return one + await task
"""
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(13, "WF110")]
    temporal = """\
import asyncio
from temporalio import workflow


@workflow.defn
class Pay:
    @workflow.run
    async def run(self) -> None:
        await asyncio.to_thread(print, 1)
"""
    assert [f.code for f in lint_text(temporal).findings] == ["WF110"]


def test_every_definition_of_a_workflow_defined_twice_is_checked() -> None:
    source = """\
import time
import uuid
from temporalio import workflow
from wfkit import Context
from wfkit import workflow as wf


@wf
def flow(ctx: Context) -> float:
    return time.time()


@wf
def flow(ctx: Context) -> float:
    return ctx.now().timestamp()


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return str(uuid.uuid4())


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return str(workflow.uuid4())
"""
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(10, "WF101"), (22, "WF102")]


def test_a_nested_function_in_a_workflow_is_workflow_code_even_if_never_called_there() -> None:
    source = """\
import time
from wfkit import Context, workflow


@workflow
def flow(ctx: Context) -> None:
    def on_done() -> float:
        return time.time()

    ctx.logger.info("registered %s", on_done)


def plain() -> None:
    def helper() -> float:
        return time.time()
"""
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(8, "WF101")]
