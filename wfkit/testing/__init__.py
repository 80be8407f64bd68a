"""The test harness: run workflows on virtual time, inject failures and crashes, prove recovery.

``TestWorkflowContext`` runs one workflow in-process with mocks, virtual time and crash points;
``verify`` explores failure and crash plans with Hypothesis; ``verify_upgrade`` does the same for
a run of the old code taken over by the new code; ``crash_matrix`` tries every crash
point; ``replay`` checks a recorded history against current code. See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfkit._lazy import lazy_exports

_EXPORTS = {
    "TestWorkflowContext": "wfkit.testing.context",
    "SimulatedCrash": "wfkit.testing.errors",
    "WorkflowFailed": "wfkit.testing.errors",
    "WorkflowStuck": "wfkit.testing.errors",
    "UnusedFault": "wfkit.testing.errors",
    "UnknownStep": "wfkit.testing.errors",
    "UnusedEvent": "wfkit.testing.errors",
    "HashOrderError": "wfkit.testing.errors",
    "History": "wfkit.engine.history",
    "Ledger": "wfkit.testing.ledger",
    "replay": "wfkit.engine.history",
    "NonDeterminismError": "wfkit.errors",
    "verify": "wfkit.testing.verification",
    "verify_upgrade": "wfkit.testing.upgrade",
    "Upgrade": "wfkit.testing.upgrade",
    "UpgradePlan": "wfkit.testing.upgrade",
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
    from wfkit.engine.history import History as History
    from wfkit.engine.history import replay as replay
    from wfkit.errors import NonDeterminismError as NonDeterminismError
    from wfkit.testing.context import TestWorkflowContext as TestWorkflowContext
    from wfkit.testing.errors import HashOrderError as HashOrderError
    from wfkit.testing.errors import SimulatedCrash as SimulatedCrash
    from wfkit.testing.errors import UnknownStep as UnknownStep
    from wfkit.testing.errors import UnusedEvent as UnusedEvent
    from wfkit.testing.errors import UnusedFault as UnusedFault
    from wfkit.testing.errors import WorkflowFailed as WorkflowFailed
    from wfkit.testing.errors import WorkflowStuck as WorkflowStuck
    from wfkit.testing.interactive import RunState as RunState
    from wfkit.testing.ledger import Ledger as Ledger
    from wfkit.testing.matrix import CrashMatrix as CrashMatrix
    from wfkit.testing.matrix import crash_matrix as crash_matrix
    from wfkit.testing.outcomes import VerifySummary as VerifySummary
    from wfkit.testing.plan import Arrival as Arrival
    from wfkit.testing.plan import Crash as Crash
    from wfkit.testing.plan import Failure as Failure
    from wfkit.testing.plan import Plan as Plan
    from wfkit.testing.steps import step_context as step_context
    from wfkit.testing.upgrade import Upgrade as Upgrade
    from wfkit.testing.upgrade import UpgradePlan as UpgradePlan
    from wfkit.testing.upgrade import verify_upgrade as verify_upgrade
    from wfkit.testing.verification import VerificationError as VerificationError
    from wfkit.testing.verification import verify as verify


__getattr__, __dir__ = lazy_exports("wfkit.testing", _EXPORTS, globals())
