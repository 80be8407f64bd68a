"""docs/testing-temporal.md's continue-as-new and update examples run as written (the blocks
executed in one namespace, as test_temporal_docs.py does), and the planted-bug reports it
quotes are what ``verify_temporal`` says."""

from __future__ import annotations

import asyncio

import pytest
from bank_flows import ACTIVITIES, MOVE, TimeoutBlindTransfer, WallClockDeadline, reset, settled
from test_temporal_docs import DOC, _namespace

from wfkit.testing.temporal import verify_temporal
from wfkit.testing.verification import VerificationError


def test_the_docs_continue_as_new_scenario(monkeypatch):
    namespace = _namespace(monkeypatch)
    env = namespace["TemporalTestEnvironment"](workflows=[namespace["PagedExport"]])
    result, runs = asyncio.run(namespace["export_scenario"](env))
    assert result == "exported 3 pages, run run-4"
    assert runs == ["run-1", "run-2", "run-3", "run-4"]


def test_the_docs_update_scenario(monkeypatch):
    namespace = _namespace(monkeypatch)
    env = namespace["TemporalTestEnvironment"](workflows=[namespace["Thermostat"]])
    assert asyncio.run(namespace["thermostat_scenario"](env)) == (22, "99 is out of range")


@pytest.mark.parametrize("workflow", [WallClockDeadline, TimeoutBlindTransfer])
def test_the_planted_bug_reports_the_docs_quote(workflow):
    with pytest.raises(VerificationError) as found:
        verify_temporal(
            workflow.run,
            MOVE,
            activities=ACTIVITIES,
            setup=reset,
            invariant=settled,
            max_examples=15,
            derandomize=True,
        )
    doc = DOC.read_text(encoding="utf-8")
    report = str(found.value)
    quoted = [line for line in report.splitlines() if line.startswith("  - ")]
    quoted.append(f"  plan={found.value.plan!r}")
    for line in quoted:
        assert line in doc
    if workflow is WallClockDeadline:
        assert report.split("\n\n")[1] in doc  # the whole timeline
