"""The errors wfkit raises at users.

Every user-facing error subclasses :class:`WfkitError` and carries structured fields, so tests
(and programs) assert on fields rather than on message text, and the CLI can render any of them
as one line that names the problem and the fix.
"""

from __future__ import annotations

from typing import Any


class WfkitError(Exception):
    """Base of every error wfkit reports to a user.

    ``hint`` says how to fix the problem; the CLI prints ``message`` and ``hint`` on one line.
    ``exit_code`` is what the CLI exits with (2 for input/usage errors, 1 for failures).
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(WfkitError):
    """Bad input from a user: a wrong argument, an unknown id, a malformed file."""

    exit_code = 2


class DefinitionError(UsageError):
    """A workflow or step definition is invalid; raised when the decorator is applied."""


class SerializationError(UsageError):
    """A value cannot be encoded to or decoded from JSON."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        type_name: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.where = where
        self.type_name = type_name


class StoreError(UsageError):
    """The store cannot be opened or used: unknown URL scheme, foreign or newer database, lock."""


class InvalidId(UsageError):
    """A run id or event name that cannot be stored or shown on one line (see wfkit.engine.ids)."""

    def __init__(self, what: str, value: object, *, reason: str, hint: str | None = None) -> None:
        super().__init__(
            f"invalid {what}: {shown(value)} {reason}",
            hint=hint
            or "use printable characters, without tabs, newlines or other control characters",
        )
        self.what = what
        self.value = value
        self.reason = reason


class NoStore(StoreError):
    """A command that only looks at or repairs runs found no wfkit store where it was pointed
    (a missing or empty file, an empty database): it creates none."""

    def __init__(self, where: str, detail: str = "") -> None:
        super().__init__(
            f"no wfkit store at {where}" + (f" ({detail})" if detail else ""),
            hint="run a workflow first with `wfkit run` or `wfkit worker`, which "
            "create the store, or point --store / WFKIT_STORE at the store "
            "that holds your runs",
        )
        self.where = where


class DamagedHistory(UsageError):
    """An exported history whose log is not whole or contradicts its run (see
    wfkit.engine.history_checks): replaying it would report on a run that never happened."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(
            f"{source}: damaged history: {problem}",
            hint="export it again with `wfkit export ID`, or restore the file from version control",
        )
        self.source = source
        self.problem = problem


class RunNotFound(UsageError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no workflow run with id {run_id!r}", hint="list runs with `wfkit list`")
        self.run_id = run_id


class InvalidRunState(UsageError):
    """An operation does not fit the run's current status (e.g. an event for a finished run)."""

    def __init__(self, message: str, *, run_id: str, status: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.status = status


class NonDeterminismError(WfkitError):
    """Replay met an operation different from the one recorded at the same position."""

    def __init__(
        self,
        *,
        position: int,
        recorded: str,
        current: str,
        source: str | None = None,
        run_id: str | None = None,
        diff: str | None = None,
    ) -> None:
        where = f" at {source}" if source else ""
        super().__init__(
            f"non-deterministic workflow: operation #{position} was recorded as {recorded} "
            f"but the code now does {current}{where}",
            hint="make the workflow body deterministic, or gate the change with ctx.patched()",
        )
        self.position = position
        self.recorded = recorded
        self.current = current
        self.source = source
        self.run_id = run_id
        self.diff = diff  # the recorded operations next to what the code does now

    def __str__(self) -> str:
        diff = getattr(self, "diff", None)  # absent on one rebuilt from a stored record
        return f"{self.message}\n{diff}" if diff else self.message


class RecordedValueError(WfkitError):
    """A recorded result no longer decodes to the step's return type.

    Raised on replay (a hand-entered ``skip-step`` result of the wrong type, or a return
    annotation changed under in-flight runs). The run is FAILED rather than compensated: the
    completed work is fine, the record is not.
    """

    def __init__(self, step: str, position: int, detail: str) -> None:
        super().__init__(
            f"the recorded result of step {step!r} (operation #{position}) does not fit its "
            f"return type: {detail}",
            hint=f"record a value of the right type with `wfkit skip-step RUN {step} --result "
            "JSON`, or deploy code whose annotation matches the recorded runs",
        )
        self.step = step
        self.position = position


class StepFailed(WfkitError):
    """A step failed for good and its original exception type could not be rebuilt on replay."""

    def __init__(self, step: str, error_type: str, error_message: str) -> None:
        super().__init__(f"step {step!r} failed: {error_type}: {error_message}")
        self.step = step
        self.error_type = error_type
        self.error_message = error_message


class StepTimeout(WfkitError, TimeoutError):
    """One attempt of a step ran longer than its ``timeout``."""

    def __init__(self, step: str, timeout: float) -> None:
        super().__init__(f"step {step!r} timed out after {timeout:g}s")
        self.step = step
        self.timeout = timeout


class StepInterrupted(WfkitError):
    """An ``at_most_once`` step was cut off by a crash; it is failed rather than run twice."""

    def __init__(self, step: str, attempt: int) -> None:
        super().__init__(
            f"step {step!r} (attempt {attempt}) was interrupted by a crash and is at_most_once, "
            "so it was not run again",
            hint="check the outside system for the step's effect, then handle this error or "
            "let compensation run",
        )
        self.step = step
        self.attempt = attempt


class WorkflowCancelled(WfkitError):
    """The run was cancelled while the workflow body was running."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"workflow run {run_id!r} was cancelled")
        self.run_id = run_id


class RunFailed(WfkitError):
    """``handle.result()`` on a run that ended without a result."""

    def __init__(self, run_id: str, status: str, error: dict[str, Any] | None) -> None:
        message = str(error.get("message", "")).strip().splitlines() if error else []
        detail = f": {error.get('type')}: {message[0] if message else ''}" if error else ""
        super().__init__(
            f"workflow run {run_id!r} ended {status}{detail}",
            hint=f"inspect it with `wfkit show {run_id}`",
        )
        self.run_id = run_id
        self.status = status
        self.error = error


class ResultTimeout(WfkitError, TimeoutError):
    def __init__(self, run_id: str, timeout: float, status: str) -> None:
        super().__init__(
            f"workflow run {run_id!r} did not finish within {timeout:g}s (status {status})",
            hint="start a worker with `wfkit worker MODULE` or wait longer",
        )
        self.run_id = run_id
        self.timeout = timeout
        self.status = status


def shown(value: object, limit: int = 60) -> str:
    """A value as it is safe to put in a one-line message: escaped, and cut when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
