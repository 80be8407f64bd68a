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
    "workflow": "wfkit.engine.definitions",
    "step": "wfkit.engine.definitions",
    "Context": "wfkit.engine.context",
    "Retry": "wfkit.engine.retry",
    "Engine": "wfkit.engine.engine",
    "WorkflowHandle": "wfkit.engine.engine",
    "RunStatus": "wfkit.engine.status",
    "step_info": "wfkit.engine.running_step",
    "StepInfo": "wfkit.engine.running_step",
    "WfkitError": "wfkit.errors",
    "NonDeterminismError": "wfkit.errors",
    "StepFailed": "wfkit.errors",
    "StepInterrupted": "wfkit.errors",
    "StepTimeout": "wfkit.errors",
    "RunFailed": "wfkit.errors",
    "ChildWorkflowFailed": "wfkit.engine.core.waits",
    "Cron": "wfkit.engine.schedules",
    "Every": "wfkit.engine.schedules",
    "At": "wfkit.engine.schedules",
    "Queue": "wfkit.engine.queues",
    "QueueDeduplicated": "wfkit.engine.queues",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from wfkit.engine.context import Context as Context
    from wfkit.engine.core.waits import ChildWorkflowFailed as ChildWorkflowFailed
    from wfkit.engine.definitions import step as step
    from wfkit.engine.definitions import workflow as workflow
    from wfkit.engine.engine import Engine as Engine
    from wfkit.engine.engine import WorkflowHandle as WorkflowHandle
    from wfkit.engine.queues import Queue as Queue
    from wfkit.engine.queues import QueueDeduplicated as QueueDeduplicated
    from wfkit.engine.retry import Retry as Retry
    from wfkit.engine.running_step import StepInfo as StepInfo
    from wfkit.engine.running_step import step_info as step_info
    from wfkit.engine.schedules import At as At
    from wfkit.engine.schedules import Cron as Cron
    from wfkit.engine.schedules import Every as Every
    from wfkit.engine.status import RunStatus as RunStatus
    from wfkit.errors import NonDeterminismError as NonDeterminismError
    from wfkit.errors import RunFailed as RunFailed
    from wfkit.errors import StepFailed as StepFailed
    from wfkit.errors import StepInterrupted as StepInterrupted
    from wfkit.errors import StepTimeout as StepTimeout
    from wfkit.errors import WfkitError as WfkitError


__getattr__, __dir__ = lazy_exports("wfkit", _EXPORTS, globals())
