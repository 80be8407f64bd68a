"""What the Temporal test environment reports: features it does not emulate, stuck runs, and
workflow tasks that failed (Temporal would retry those forever; a test wants to see them)."""

from __future__ import annotations

from wfkit.errors import WfkitError


class NotEmulated(WfkitError):
    """The workflow used a Temporal feature the environment does not emulate yet."""

    def __init__(self, feature: str) -> None:
        super().__init__(
            f"{feature} not emulated yet by wfkit's Temporal test environment",
            hint="see docs/testing-temporal.md, 'Scope'",
        )
        self.feature = feature


class ActivityNotRegistered(WfkitError):
    """The workflow scheduled an activity the environment was not given: in Temporal no worker
    would take its task and the run would wait until a timeout, which a test only sees as a
    hang."""

    def __init__(self, activity_type: str, known: list[str]) -> None:
        super().__init__(
            f"activity {activity_type!r} is not registered with the Temporal test environment",
            hint="pass it in activities=[...] (a bound method too) or mock it with env.mock(); "
            + ("registered: " + ", ".join(known) if known else "no activity is registered"),
        )
        self.activity_type = activity_type


class WorkflowTaskFailed(WfkitError):
    """The workflow code raised an error that fails the workflow *task* (not the workflow).

    A Temporal server retries such a task forever, so a run would hang; the environment stops
    and reports it instead, with the SDK's message (a non-determinism error, a bug, a
    non-Temporal exception)."""

    def __init__(self, workflow_id: str, message: str) -> None:
        super().__init__(f"workflow task of {workflow_id!r} failed: {message}")
        self.workflow_id = workflow_id
        self.reason = message


class WorkflowBlocked(WfkitError):
    """The run waits for something only the test can send (a signal, a cancellation), and the
    test asked for its result."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(
            f"workflow {workflow_id!r} is blocked: no timer or activity is pending, so only a"
            " signal or cancellation from the test can move it on",
        )
        self.workflow_id = workflow_id
