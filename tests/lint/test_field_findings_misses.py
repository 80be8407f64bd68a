"""Misses public code showed (issue 12, items 6 and 7): blocking waits on module-level thread
objects, state of other modules and classes written from a workflow, and handlers a Temporal
workflow registers at run time."""

from __future__ import annotations

from lint_helpers import codes, lint_text, lint_tree

# ------------------------------------------------------------------ 7: runtime handlers
REGISTERING = """\
import time
from temporalio import workflow


def on_status() -> float:
    return time.time()


@workflow.defn
class Registrar:
    @workflow.run
    async def run(self) -> None:
        {registration}

    def _handle(self, *args) -> float:
        return time.time()

    def _validate(self, *args) -> None:
        time.sleep(1)
"""


def _registered(registration: str) -> list[tuple[int, str, str]]:
    source = REGISTERING.replace("{registration}", registration)
    return [(f.line, f.code, f.message) for f in lint_text(source).findings]


def test_each_setter_registers_its_handler_positional_or_keyword() -> None:
    for registration in (
        'workflow.set_signal_handler("s", self._handle)',
        'workflow.set_signal_handler(name="s", handler=self._handle)',
        'workflow.set_query_handler("q", self._handle)',
        'workflow.set_query_handler(handler=self._handle, name="q")',
        'workflow.set_update_handler("u", self._handle)',
        "workflow.set_dynamic_signal_handler(self._handle)",
        "workflow.set_dynamic_query_handler(handler=self._handle)",
        "workflow.set_dynamic_update_handler(self._handle)",
    ):
        [(line, code, message)] = _registered(registration)
        assert (line, code) == (16, "WF101"), registration
        assert "(Registrar.run -> Registrar._handle -> time.time())" in message


def test_an_update_validator_is_registered_too() -> None:
    found = _registered('workflow.set_update_handler("u", self._handle, validator=self._validate)')
    assert [(line, code) for line, code, _ in found] == [(16, "WF101"), (19, "WF107")]
    assert "Registrar.run -> Registrar._validate -> time.sleep()" in found[1][2]
    dynamic = _registered(
        "workflow.set_dynamic_update_handler(on_status, validator=self._validate)"
    )
    assert [(line, code) for line, code, _ in dynamic] == [(6, "WF101"), (19, "WF107")]
    assert "(Registrar.run -> on_status -> time.time())" in dynamic[0][2]


def test_what_is_not_a_registration_registers_nothing() -> None:
    for registration in (
        'workflow.set_signal_handler("s", None)',  # unsets
        'workflow.get_signal_handler("s")',
        "workflow.set_dynamic_signal_handler(None)",
        # the validator is keyword-only: a third positional is not one (a TypeError anyway)
        'workflow.set_query_handler("q", None)',
        'print("s", self._handle)',  # passed somewhere else: not known to run
    ):
        assert _registered(registration) == [], registration


def test_a_handler_registered_from_a_helper_or_imported_from_another_module(tmp_path) -> None:
    result = lint_tree(
        tmp_path,
        {
            "handlers.py": """\
                import uuid


                def on_any(name, args):
                    return str(uuid.uuid4())
                """,
            "flows.py": """\
                from temporalio import workflow

                from handlers import on_any


                def wire():
                    workflow.set_dynamic_signal_handler(on_any)


                @workflow.defn
                class Flow:
                    @workflow.run
                    async def run(self) -> None:
                        wire()
                """,
            "unused.py": """\
                from temporalio import workflow
                import time


                def never_called():
                    workflow.set_signal_handler("x", tick)


                def tick():
                    return time.time()
                """,
        },
    )
    assert codes(result) == [("handlers.py", 5, "WF102")]
    assert "(Flow.run -> wire -> on_any -> uuid.uuid4())" in result.findings[0].message


# ------------------------------------------------------------------ 6a: shared blocking waits
SHARED_WAIT = """\
import threading
from threading import Lock
import queue
{imports}

READY = threading.Event()
LOCK = Lock()
JOBS = queue.SimpleQueue()

{workflow}
    {body}
"""
DIALECTS = {
    "wfkit": ("from wfkit import Context, workflow", "@workflow\ndef flow(ctx: Context):"),
    "dbos": ("from dbos import DBOS", "@DBOS.workflow()\ndef flow():"),
    "dbos_async": ("from dbos import DBOS", "@DBOS.workflow()\nasync def flow():"),
    "temporal": (
        "from temporalio import workflow",
        "@workflow.defn\nclass Flow:\n    @workflow.run\n    async def run(self):",
    ),
}


def _waits(dialect: str, body: str) -> list[str]:
    imports, header = DIALECTS[dialect]
    indent = "        " if dialect == "temporal" else "    "
    source = SHARED_WAIT.format(imports=imports, workflow=header, body="").rstrip() + "\n"
    source += "".join(f"{indent}{line}\n" for line in body.splitlines())
    return [f.message for f in lint_text(source).findings if f.code == "WF107"]


def test_a_wait_on_a_module_level_event_is_named_with_each_dialects_durable_wait() -> None:
    advice = {
        "wfkit": "use ctx.wait_for_event() / ctx.sleep()",
        "dbos": "use DBOS.recv()",
        "dbos_async": "use await DBOS.recv_async()",
        "temporal": "use workflow.wait_condition()",
    }
    for dialect, use in advice.items():
        [message] = _waits(dialect, "READY.wait(5)")
        assert message.startswith("blocking or non-durable sleep or wait in workflow code (")
        assert "READY.wait() on a module-level threading.Event, shared by every run" in message
        assert message.endswith(use), dialect


def test_only_the_blocking_forms_are_reported() -> None:
    blocking = [
        "JOBS.get()",
        "JOBS.get(True, 5)",
        "LOCK.acquire(timeout=1)",
        "LOCK.acquire(True, 1)",
    ]
    for line in blocking:
        assert len(_waits("wfkit", line)) == 1, line
    for line in (
        "JOBS.get(False)",
        "JOBS.get(block=False)",
        "JOBS.get_nowait()",
        "LOCK.acquire()",
        "LOCK.acquire(timeout=-1)",
        "LOCK.acquire(blocking=False, timeout=1)",
        "READY.set()",
        "READY.clear()",
        "return READY.is_set()",
        "with LOCK: pass",
    ):
        assert _waits("wfkit", line) == [], line


def test_a_rebound_or_shadowed_name_is_not_the_shared_object() -> None:
    assert _waits("wfkit", "READY = queue.Queue()\nREADY.get()") == []  # a local
    rebound = SHARED_WAIT.format(
        imports="from wfkit import Context, workflow\nREADY = object()",
        workflow="@workflow\ndef flow(ctx: Context):",
        body="READY.wait()",
    ).replace("READY = threading.Event()", "")
    assert lint_text(rebound).findings == []


# ------------------------------------------------------------------ 6b, 6c: other modules, classes
def test_another_modules_state_is_named_as_such(tmp_path) -> None:
    result = lint_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/other_module.py": "items = []\ncounter = 0\ncache = {}\n",
            "flows.py": """\
                import other_module
                from pkg import other_module as om
                from wfkit import Context, workflow


                @workflow
                def flow(ctx: Context, x: str) -> None:
                    other_module.items.append(x)
                    other_module.counter += 1
                    om.cache[x] = x
                """,
        },
    )
    assert codes(result) == [("flows.py", n, "WF111") for n in (8, 9, 10)]
    first, second, third = (f.message for f in result.findings)
    assert first == (
        "state outside the workflow written from workflow code (flow -> "
        "other_module.items.append(): state of module other_module, shared across runs "
        "and lost on replay)"
    )
    assert "other_module.counter: state of module other_module" in second
    assert "om.cache[x]: state of module pkg.other_module, shared across runs" in third


def test_class_attributes_are_named_with_their_class() -> None:
    source = """\
from wfkit import Context, workflow


class Counter:
    runs = 0

    @classmethod
    def bump(cls) -> None:
        cls.runs += 1


@workflow
def flow(ctx: Context) -> None:
    Counter.runs += 1
    Counter.bump()
"""
    found = [(f.line, f.message) for f in lint_text(source).findings]
    assert [line for line, _ in found] == [9, 14]
    assert "(flow -> Counter.bump -> cls.runs: class attribute of Counter," in found[0][1]
    assert "(flow -> Counter.runs: class attribute of Counter, shared across runs" in found[1][1]


def test_per_run_state_stays_clean() -> None:
    source = """\
from temporalio import workflow

import other_module


class Box:
    size = 0


@workflow.defn
class Flow:
    total = 0

    def __init__(self) -> None:
        self.items: list[int] = []

    @workflow.run
    async def run(self, order: Box) -> int:
        self.total += 1
        self.items.append(1)
        order.size = 3
        box = Box()
        box.size += 1
        holder = {"n": 0}

        def bump() -> None:
            holder["n"] += 1

        bump()
        other_module.update(box)
        return Box.size + other_module.counter
"""
    assert lint_text(source).findings == []


def test_a_classmethod_not_called_from_a_workflow_is_not_workflow_code() -> None:
    source = """\
from wfkit import Context, workflow


class Counter:
    runs = 0

    @classmethod
    def bump(cls) -> None:
        cls.runs += 1


@workflow
def flow(ctx: Context) -> int:
    return Counter.runs
"""
    assert lint_text(source).findings == []


def test_a_class_defined_in_the_workflow_body_is_made_by_each_run() -> None:
    source = """\
from wfkit import Context, workflow


@workflow
def flow(ctx: Context) -> int:
    class Local:
        n = 0

        @classmethod
        def bump(cls) -> None:
            cls.n += 1

        def again(self) -> None:
            type(self).n += 1

    Local.bump()
    Local().again()
    Local.n += 1
    return Local.n
"""
    assert lint_text(source).findings == []


def test_a_mutator_named_call_counts_only_on_what_is_surely_data() -> None:
    source = """\
import a.b
import other_module
from pkg import Registry
from pkg.state import CACHE, cache
from wfkit import Context, workflow

STATE = object()


class Counter:
    @classmethod
    def add(cls, x) -> None:
        cls.update(x)

    @classmethod
    def update(cls, x) -> None: ...


@workflow
def flow(ctx: Context, x: int) -> None:
    other_module.update(x)
    a.b.c.add(x)
    Registry.register(x)
    cache.update(x)
    STATE.client.update(x)
    Counter.add(x)
    other_module.items.append(x)
    CACHE.update(x)
    STATE.items[0].append(x)
"""
    found = [(f.line, f.message) for f in lint_text(source).findings]
    assert [line for line, _ in found] == [27, 28, 29]
    assert "CACHE.update(): state of module pkg.state," in found[1][1]
    assert "STATE.items[0].append(): state of module-level STATE," in found[2][1]


def test_linting_only_the_registering_file_reports_at_the_registration(tmp_path) -> None:
    from wfkit.lint.api import LintOptions, lint_paths

    lint_tree(
        tmp_path,
        {
            "handlers.py": "import uuid\n\n\ndef on_any(name, args):\n    return str(uuid.uuid4())\n",
            "flows.py": """\
                from temporalio import workflow

                from handlers import on_any


                @workflow.defn
                class Flow:
                    @workflow.run
                    async def run(self) -> None:
                        workflow.set_dynamic_signal_handler(on_any)
                """,
        },
    )
    result = lint_paths([tmp_path / "flows.py"], LintOptions(use_cache=False))
    assert codes(result) == [("flows.py", 10, "WF102")]
    assert "(Flow.run -> on_any -> uuid.uuid4() at " in result.findings[0].message
