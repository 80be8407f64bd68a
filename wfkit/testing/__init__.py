"""The test harness: run workflows on virtual time, inject failures and crashes, prove recovery.

``TestWorkflowContext`` runs one workflow in-process with mocks, virtual time and crash points;
``verify`` explores failure and crash plans with Hypothesis; ``crash_matrix`` tries every crash
point; ``replay`` checks a recorded history against current code. See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfkit._lazy import lazy_exports

_EXPORTS = {
    "TestWorkflowContext": "wfkit.testing.context",
    "SimulatedCrash": "wfkit.testing.errors",
    "WorkflowFailed": "wfkit.testing.errors",
    "WorkflowStuck": "wfkit.testing.errors", "UnusedFault": "wfkit.testing.errors",
    "UnknownStep": "wfkit.testing.errors", "UnusedEvent": "wfkit.testing.errors",
    "HashOrderError": "wfkit.testing.errors",
    "History": "wfkit.engine.history",
    "Ledger": "wfkit.testing.ledger",
    "replay": "wfkit.engine.history",
    "NonDeterminismError": "wfkit.errors",
    "verify": "wfkit.testing.verification",
    "VerificationError": "wfkit.testing.verification",
    "VerifySummary": "wfkit.testing.outcomes",
    "crash_matrix": "wfkit.testing.matrix",
    "CrashMatrix": "wfkit.testing.matrix",
    "Plan": "wfkit.testing.plan",
    "RunState": "wfkit.testing.interactive",
    "step_context": "wfkit.testing.steps",
    "Failure": "wfkit.testing.plan",
    "Crash": "wfkit.testing.plan",
    "Arrival": "wfkit.testing.plan",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from wfkit.errors import NonDeterminismError
    from wfkit.engine.history import History, replay
    from wfkit.testing.context import TestWorkflowContext
    from wfkit.testing.errors import (
        HashOrderError,
        SimulatedCrash,
        UnknownStep,
        UnusedEvent,
        UnusedFault,
        WorkflowFailed,
        WorkflowStuck,
    )
    from wfkit.testing.interactive import RunState
    from wfkit.testing.ledger import Ledger
    from wfkit.testing.matrix import CrashMatrix, crash_matrix
    from wfkit.testing.plan import Arrival, Crash, Failure, Plan
    from wfkit.testing.outcomes import VerifySummary
    from wfkit.testing.steps import step_context
    from wfkit.testing.verification import VerificationError, verify


__getattr__, __dir__ = lazy_exports('wfkit.testing', _EXPORTS, globals())
