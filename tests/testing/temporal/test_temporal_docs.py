"""docs/testing-temporal.md's examples run as written: its code blocks, executed in order in
one namespace, and the tests and scenario they define, called."""

from __future__ import annotations

import asyncio
import re
import sys
import types
from datetime import timedelta
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "testing-temporal.md"


def _namespace(monkeypatch) -> dict:
    """The blocks run as one module (dataclasses look their module up in sys.modules)."""
    module = types.ModuleType("testing_temporal_doc")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL):
        exec(compile(block, str(DOC), "exec"), module.__dict__)
    return module.__dict__


def test_the_docs_tests_pass(monkeypatch):
    namespace = _namespace(monkeypatch)
    names = sorted(name for name in namespace if name.startswith("test_"))
    assert names == [
        "test_a_crash_before_the_withdrawal_is_recorded",
        "test_a_failing_deposit_is_refunded",
        "test_an_upload_resumes_after_a_failure_and_stops_when_cancelled",
        "test_every_crash_point_recovers",
        "test_the_letter_is_answered_later",
        "test_the_transfer_survives_failures_and_crashes",
        "test_transfer",
    ]
    for name in names:
        namespace[name]()


def test_the_docs_approval_scenario(monkeypatch):
    namespace = _namespace(monkeypatch)
    env = namespace["TemporalTestEnvironment"](workflows=[namespace["Approval"]])
    assert asyncio.run(namespace["scenario"](env)) == "leave: approved"
    assert env.now - namespace["make_env"]().now == timedelta(hours=2)
    approval = namespace["Approval"]
    assert asyncio.run(env.execute(approval.run, "trip", id="a-2")) == "trip: timed out"
