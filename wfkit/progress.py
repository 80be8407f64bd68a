"""The engine's progress events at the path docs/engine.md imports them from
(``from wfkit.progress import ProgressEvent, StepRetrying``). They live in
:mod:`wfkit.engine.progress`; this module only keeps the documented path working.
"""

from __future__ import annotations

from wfkit.engine.progress import (
    AttemptStarted,
    CompensationStarted,
    Observer,
    ProgressEvent,
    RunParked,
    StepCompleted,
    StepGaveUp,
    StepRetrying,
    guarded,
)

__all__ = [
    "AttemptStarted",
    "CompensationStarted",
    "Observer",
    "ProgressEvent",
    "RunParked",
    "StepCompleted",
    "StepGaveUp",
    "StepRetrying",
    "guarded",
]
