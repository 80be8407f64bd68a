"""wfkit: durable workflows you can ship.

The authoring API (``workflow``, ``step``, ``Context``, ``Retry``) and the ``Engine`` are
exported here; the linter lives in :mod:`wfkit.lint` and the test harness in
:mod:`wfkit.testing`. Names load on first use, so ``import wfkit`` (and the ``wfkit`` command)
stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfkit._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "workflow": "wfkit.definitions", "step": "wfkit.definitions",
    "Context": "wfkit.context", "Retry": "wfkit.retry",
    "Engine": "wfkit.engine", "WorkflowHandle": "wfkit.engine",
    "RunStatus": "wfkit.status",
    "step_info": "wfkit.running_step", "StepInfo": "wfkit.running_step",
    "WfkitError": "wfkit.errors", "NonDeterminismError": "wfkit.errors",
    "StepFailed": "wfkit.errors", "StepInterrupted": "wfkit.errors",
    "StepTimeout": "wfkit.errors", "RunFailed": "wfkit.errors",
    "ChildWorkflowFailed": "wfkit.core.waits",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from wfkit.context import Context
    from wfkit.core.waits import ChildWorkflowFailed
    from wfkit.definitions import step, workflow
    from wfkit.engine import Engine, WorkflowHandle
    from wfkit.errors import (
        NonDeterminismError,
        RunFailed,
        StepFailed,
        StepInterrupted,
        StepTimeout,
        WfkitError,
    )
    from wfkit.retry import Retry
    from wfkit.running_step import StepInfo, step_info
    from wfkit.status import RunStatus


__getattr__, __dir__ = lazy_exports('wfkit', _EXPORTS, globals())
