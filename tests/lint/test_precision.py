"""Scoping precision and dialect coverage: what is flagged where, and what is not."""

from __future__ import annotations

import pytest
from lint_helpers import lint_text

WFKIT = "from wfkit import Context, workflow, step\n\n\n@workflow\ndef wf(ctx: Context):\n"
TEMPORAL = (
    "from temporalio import workflow, activity\n\n\n@workflow.defn\nclass W:\n"
    "    @workflow.run\n    async def run(self):\n"
)
DBOS = "from dbos import DBOS\n\n\n@DBOS.workflow()\ndef wf():\n"


def _found(source: str) -> list[str]:
    return sorted({f.code for f in lint_text(source, select=["ALL", "WF112"]).findings})


def _body(head: str, imports: str, body: str) -> str:
    indent = "        " if head is TEMPORAL else "    "
    lines = "".join(indent + line + "\n" for line in body.splitlines())
    return imports + "\n" + head + lines


@pytest.mark.parametrize(
    ("imports", "body", "expected"),
    [
        ("import datetime as dt", "return dt.datetime.now()", ["WF101"]),
        ("from datetime import datetime", "return datetime.now(tz=None)", ["WF101"]),
        ("from datetime import date", "return date.today()", ["WF101"]),
        ("from time import time as now", "return now()", ["WF101"]),
        ("import time", "return time.localtime()", ["WF101"]),
        ("import time", "return time.localtime(0)", []),
        ("import time", "time = 3\nreturn time", []),
        ("from datetime import datetime", "def datetime():\n    return 1\nreturn datetime()", []),
        ("from time import time", "def f(time):\n    return time()\nreturn f", []),
        ("from datetime import datetime", "now = datetime.now\nreturn now()", ["WF101"]),
        ("", "from datetime import datetime\nreturn datetime.now()", ["WF101"]),
        ("import uuid", "return uuid.uuid5(uuid.NAMESPACE_DNS, 'x')", []),
        ("import uuid", "return uuid.uuid3(uuid.NAMESPACE_DNS, 'x')", []),
        ("import random", "return random.Random(4).random()", []),
        ("import random", "return random.Random().random()", ["WF103"]),
        ("import random", "return random.SystemRandom(4).random()", ["WF103"]),
        ("import random", "random.shuffle(x := [1])\nreturn x", ["WF103"]),
        ("", "return sorted(set([1, 2]))", []),
        ("", "return [x for x in sorted({1, 2})]", []),
        ("", "return [x for x in {1, 2}]", ["WF104"]),
        ("", "s = frozenset([1])\nfor x in s | {2}:\n    pass", ["WF104"]),
        ("", "s = {1}\nreturn s.pop()", ["WF104"]),
        ("", "s = {'a'}\nreturn ','.join(x.upper() for x in s)", ["WF104"]),
        ("", "s = {'a'}\nreturn ','.join([x for x in s])", ["WF104"]),
        ("", "s = {1}\nreturn sum(x * 2 for x in s), any(x for x in s), max(x for x in s)", []),
        ("", "s = {1}\nreturn list(x * 2 for x in s)", ["WF104"]),
        ("", "s = {1}\nreturn ctx.parallel(*(ctx.call(f, x) for x in s))", ["WF104"]),
        ("", "d = {'a': 1}\nfor k in d.keys() - {'b'}:\n    pass", ["WF104"]),
        ("", "d = {'a': 1}\nfor k in d.keys():\n    pass", []),
        ("", "s = {1}\nreturn len(s), max(s), 1 in s", []),
        ("import os", "return sorted(os.listdir('.'))", []),
        ("import glob", "return glob.glob('*')", ["WF104"]),
        ("from pathlib import Path", "return list(Path('.').iterdir())", ["WF104"]),
        ("from pathlib import Path", "p = Path('x')\nreturn p.read_text()", ["WF108"]),
        ("from pathlib import Path", "p = Path('x')\nreturn p.name, p.suffix", []),
        ("", "text = 'a'\nreturn text.replace('a', 'b')", []),
        ("", "d = {'a': 1}\nfor k in d:\n    print(k)", ["WF112"]),
        ("", "return hash('x')", ["WF106"]),
        ("", "def hash(x):\n    return 1\nreturn hash('x')", []),
        ("import os", "return os.getenv('A')", ["WF109"]),
        ("import platform", "return platform.system()", ["WF109"]),
        ("import socket", "return socket.gethostname()", ["WF109"]),
        ("import subprocess", "return subprocess.check_output(['ls'])", ["WF108"]),
        ("import httpx", "return httpx.get('u')", ["WF108"]),
        ("import shutil", "shutil.rmtree('x')", ["WF108"]),
        ("import threading", "threading.Timer(1, print).start()", ["WF107"]),
        ("import concurrent.futures", "concurrent.futures.ThreadPoolExecutor()", ["WF110"]),
        ("import asyncio", "asyncio.to_thread(print)", ["WF110"]),
        ("import logging", "logging.info('x')", ["WF112"]),
        ("import logging", "logging.getLogger('x')", []),
        ("", "global X\nX = 1", ["WF111"]),
    ],
)
def test_wfkit_precision(imports: str, body: str, expected: list[str]) -> None:
    assert _found(_body(WFKIT, imports, body)) == expected


def test_same_code_outside_a_workflow_is_fine() -> None:
    assert _found("import time\n\n\ndef helper():\n    return time.time()\n") == []


@pytest.mark.parametrize(
    ("head", "code", "expected"),
    [
        (TEMPORAL, "await asyncio.sleep(1)", []),
        (WFKIT, "asyncio.sleep(1)", ["WF107"]),
        (DBOS, "asyncio.sleep(1)", ["WF107"]),
        (
            TEMPORAL,
            "await asyncio.gather(workflow.execute_activity('a', start_to_close_timeout=t))",
            [],
        ),
        (WFKIT, "asyncio.gather(ctx.step(f), ctx.step(g))", ["WF110"]),
        (WFKIT, "asyncio.gather(f(), g())", []),
        (TEMPORAL, "await asyncio.wait([a])", ["WF110"]),
        (WFKIT, "asyncio.as_completed([a])", ["WF110"]),
        (
            TEMPORAL,
            "asyncio.create_task(workflow.execute_activity('a', start_to_close_timeout=t))",
            [],
        ),
        (DBOS, "asyncio.create_task(DBOS.sleep_async(1))", ["WF110"]),
    ],
)
def test_asyncio_by_dialect(head: str, code: str, expected: list[str]) -> None:
    assert _found(_body(head, "import asyncio", code)) == expected


def test_temporal_scopes() -> None:
    source = """\
import time
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import requests


@activity.defn
async def act() -> float:
    return time.time() + len(requests.get("u").text)


@workflow.defn
class W:
    def __init__(self) -> None:
        self.started = time.time()  # flagged: __init__ runs in the workflow

    @workflow.run
    async def run(self) -> None:
        with workflow.unsafe.sandbox_unrestricted():
            time.time()
        time.sleep(1)

    @workflow.signal
    def sig(self) -> None:
        time.time()

    @workflow.query
    def q(self) -> float:
        return time.time()

    @workflow.update
    def upd(self) -> None:
        time.time()

    @upd.validator
    def check(self) -> None:
        time.time()

    def not_called(self) -> float:
        return time.time()
"""
    found = [(f.line, f.code) for f in lint_text(source).findings]
    assert found == [
        (16, "WF101"),
        (22, "WF107"),
        (26, "WF101"),
        (30, "WF101"),
        (34, "WF101"),
        (38, "WF101"),
    ]


def test_wfkit_steps_and_compensations_are_exempt() -> None:
    source = """\
import time
import wfkit
from wfkit import Context, step


@step(retry=None)
def charge() -> float:
    return time.time()


@charge.compensation
def refund(result: float) -> None:
    time.sleep(1)


def cancel() -> None:
    time.sleep(1)


def ship() -> None:
    time.sleep(1)


@wfkit.workflow(name="x", version=2)
def flow(ctx: Context) -> None:
    charge()
    ctx.step(ship, compensate=cancel)
    ctx.call(lambda: time.time())
    ctx.step(lambda: time.time(), name="inline")
    time.sleep(3)
"""
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(30, "WF107")]


def test_dbos_steps_and_transactions_are_exempt() -> None:
    source = """\
import time
from dbos import DBOS


@DBOS.step()
def a() -> float:
    return time.time()


@DBOS.transaction()
def b() -> float:
    return time.time()


@DBOS.workflow()
def flow() -> float:
    return a() + b() + time.time()
"""
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(17, "WF101")]


def test_container_attributes_of_a_workflow_class() -> None:
    source = """\
from datetime import timedelta
from temporalio import workflow


@workflow.defn
class Batch:
    seen: set[str]

    def __init__(self) -> None:
        self.pending: dict[str, int] = {}
        self.seen = set()
        self.names = ["a"]

    @workflow.signal
    def add(self, name: str) -> None:
        self.pending[name] = 1

    @workflow.run
    async def run(self) -> None:
        t = timedelta(seconds=5)
        for name in self.pending:
            await workflow.execute_activity("go", name, start_to_close_timeout=t)
        for name in self.seen:
            pass
        for name in self.names:
            await workflow.execute_activity("go", name, start_to_close_timeout=t)
"""
    found = [(f.line, f.code) for f in lint_text(source).findings]
    assert found == [(21, "WF105"), (23, "WF104")]


def test_handlers_in_a_base_class_are_workflow_code() -> None:
    source = """\
import time
from temporalio import workflow


class Base:
    @workflow.signal
    def ping(self) -> None:
        time.sleep(1)


@workflow.defn
class Flow(Base):
    @workflow.run
    async def run(self) -> None: ...
"""
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(8, "WF107")]


def test_decorators_run_where_the_function_is_defined() -> None:
    """A workflow's decorator runs at import time (a wfkit workflow_id function when a run is
    started), never in a replayed body: not workflow code, in any dialect. A decorator on a
    function nested in a workflow body runs in that body and is checked."""
    at_import = """
        import os
        from datetime import datetime
        from dbos import DBOS
        from temporalio import workflow as tw
        from wfkit import Context, workflow


        @workflow(name=os.environ.get("FLOW", "flow"),
                  workflow_id=lambda customer: f"{customer}-{datetime.now():%Y}")
        def flow(ctx: Context, customer: str) -> str:
            return customer


        @DBOS.workflow(name=os.environ["DBOS_FLOW"])
        def dbos_flow() -> None:
            pass


        @tw.defn(name=os.environ["TEMPORAL_FLOW"])
        class Flow:
            @tw.run
            async def run(self) -> None:
                pass

            @tw.signal(name=os.environ["SIGNAL"])
            def ping(self) -> None:
                pass
    """
    assert _found(at_import) == []
    in_body = """
        import functools
        from datetime import datetime
        from wfkit import Context, workflow


        @workflow
        def flow(ctx: Context) -> int:
            @functools.lru_cache(maxsize=datetime.now().second)
            def helper() -> int:
                return 1
            return helper()
    """
    assert _found(in_body) == ["WF101"]
