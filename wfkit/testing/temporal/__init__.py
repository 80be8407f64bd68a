"""Temporal workflows under wfkit's harness: in-process, no server, on virtual time.

wfkit plays the Temporal server's part for the SDK's own workflow instance: it keeps the history,
runs activities with their retry policies, fires timers on a virtual clock, delivers signals,
queries and cancellation, and simulates worker crashes by replaying the history into a new
instance. Needs the optional extra: ``pip install 'wfkit[temporal]'``. See docs/testing-temporal.md.
"""

from __future__ import annotations

try:
    import temporalio.worker  # noqa: F401  (the extra's presence, checked once, here)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "wfkit.testing.temporal needs temporalio: pip install 'wfkit[temporal]'"
    ) from exc

from wfkit.testing.temporal.async_completion import AsyncActivityHandle
from wfkit.testing.temporal.environment import TemporalRun, TemporalTestEnvironment
from wfkit.testing.temporal.errors import (
    ActivityNotRegistered,
    NotEmulated,
    WorkflowBlocked,
    WorkflowTaskFailed,
)
from wfkit.testing.temporal.single_activity import ActivityOutcome
from wfkit.testing.temporal.verification import (
    TemporalCrash,
    TemporalFailure,
    TemporalOutcome,
    TemporalPlan,
    crash_matrix_temporal,
    verify_temporal,
)

__all__ = [
    "ActivityNotRegistered",
    "ActivityOutcome",
    "AsyncActivityHandle",
    "NotEmulated",
    "TemporalCrash",
    "TemporalFailure",
    "TemporalOutcome",
    "TemporalPlan",
    "TemporalRun",
    "TemporalTestEnvironment",
    "WorkflowBlocked",
    "WorkflowTaskFailed",
    "crash_matrix_temporal",
    "verify_temporal",
]
