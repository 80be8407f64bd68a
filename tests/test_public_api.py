"""The public API, pinned: the names ``wfkit`` and ``wfkit.testing`` export, and every import
the README and docs/ show users, each run in a fresh interpreter.

Where a module lives inside wfkit may change (the engine moved into ``wfkit/engine/``); what
users import may not. A name removed from a facade, or a documented import that stops working,
fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

WFKIT_NAMES = [
    "At",
    "ChildWorkflowFailed",
    "Context",
    "Cron",
    "Engine",
    "Every",
    "NonDeterminismError",
    "Queue",
    "QueueDeduplicated",
    "Retry",
    "RunFailed",
    "RunStatus",
    "StepFailed",
    "StepInfo",
    "StepInterrupted",
    "StepTimeout",
    "WfkitError",
    "WorkflowHandle",
    "__version__",
    "step",
    "step_info",
    "workflow",
]
TESTING_NAMES = [
    "Arrival",
    "Crash",
    "CrashMatrix",
    "Failure",
    "HashOrderError",
    "History",
    "Ledger",
    "NonDeterminismError",
    "Plan",
    "RunState",
    "SimulatedCrash",
    "TestWorkflowContext",
    "UnknownStep",
    "UnusedEvent",
    "UnusedFault",
    "Upgrade",
    "UpgradePlan",
    "VerificationError",
    "VerifySummary",
    "WorkflowFailed",
    "WorkflowStuck",
    "crash_matrix",
    "replay",
    "step_context",
    "verify",
    "verify_upgrade",
]
# Names the docs' prose spells out as dotted paths (not in an import line).
DOCUMENTED_PATHS = [
    ("wfkit.history", "replay"),
    ("wfkit.history", "History"),  # docs/engine.md, replay in CI
    ("wfkit.progress", "ProgressEvent"),  # docs/engine.md, progress
    ("wfkit.engine", "Engine"),  # wfkit.engine as a module
]

_IMPORT = re.compile(r"(from wfkit(\.\w+)* import |import wfkit(\.\w+)*\b)")


def documented_imports() -> list[tuple[str, str]]:
    """(statement, where) for every wfkit import line in a fenced code block of the docs."""
    found: dict[str, str] = {}
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        fenced = False
        index = 0
        while index < len(lines):
            line = lines[index].strip()
            if line.startswith("```"):
                fenced = not fenced
            elif fenced and _IMPORT.match(line):
                statement, start = line, index
                while statement.count("(") > statement.count(")"):
                    index += 1
                    statement += " " + lines[index].strip()
                statement = statement.split("#")[0].strip()
                found.setdefault(statement, f"{path.name}:{start + 1}")
            index += 1
    return sorted(found.items())


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_the_docs_show_imports_to_check():
    statements = [s for s, _ in documented_imports()]
    assert "from wfkit import Context, Engine, Retry, step, workflow" in statements
    assert any(s.startswith("from wfkit.testing import (") for s in statements)
    assert "from wfkit.progress import ProgressEvent, StepRetrying" in statements


@pytest.mark.parametrize(
    ("statement", "where"), documented_imports(), ids=[where for _, where in documented_imports()]
)
def test_every_import_the_docs_show_works(statement: str, where: str):
    done = run_python(statement)
    assert done.returncode == 0, f"{where}: {statement}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize(
    ("module", "names"), [("wfkit", WFKIT_NAMES), ("wfkit.testing", TESTING_NAMES)]
)
def test_the_facades_export_exactly_the_pinned_names(module: str, names: list[str]):
    code = textwrap.dedent(f"""
        import importlib
        module = importlib.import_module({module!r})
        assert sorted(module.__all__) == sorted({names!r}), sorted(module.__all__)
        for name in {names!r}:
            exec(f"from {module} import {{name}}", {{}})
    """)
    done = run_python(code)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_dotted_paths_the_docs_name_resolve():
    code = "import importlib\n" + "".join(
        f"assert getattr(importlib.import_module({module!r}), {name!r}) is not None\n"
        for module, name in DOCUMENTED_PATHS
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_aliases_are_the_engine_modules_names():
    """The documented old paths re-export the engine's objects, not copies."""
    done = run_python(
        textwrap.dedent("""
        import wfkit, wfkit.history, wfkit.progress, wfkit.engine
        import wfkit.engine.engine, wfkit.engine.history, wfkit.engine.progress
        assert wfkit.Engine is wfkit.engine.Engine is wfkit.engine.engine.Engine
        assert wfkit.history.replay is wfkit.engine.history.replay
        assert all(getattr(wfkit.progress, n) is getattr(wfkit.engine.progress, n)
                   for n in wfkit.progress.__all__)
        assert sorted(wfkit.progress.__all__) == sorted(wfkit.engine.progress.__all__)
    """)
    )
    assert done.returncode == 0, done.stderr[-2000:]
