"""What the test harness raises."""

from __future__ import annotations

from typing import Any

from wfkit.errors import WfkitError


class SimulatedCrash(BaseException):
    """The simulated process died here. A ``BaseException`` so workflow and step code that
    catches ``Exception`` cannot swallow it, just as it could not survive a real SIGKILL."""

    def __init__(self, where: str) -> None:
        super().__init__(f"simulated crash {where}")
        self.where = where


class WorkflowFailed(WfkitError, AssertionError):
    """``TestWorkflowContext.run`` on a run that ended without a result."""

    def __init__(
        self,
        run_id: str,
        status: str,
        cause: BaseException | None,
        error: dict[str, Any] | None,
        *,
        where: str | None = None,
    ) -> None:
        data = (
            (error or {}).get("original", error or {})
            if (error or {}).get("during")
            else (error or {})
        )
        step = data.get("from_step") if isinstance(data.get("from_step"), str) else None
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        if step is not None and cause is not None:
            detail = f": step {step!r} failed with {type(cause).__name__}: {cause}"
        during = (error or {}).get("during")
        detail += f" (during {during})" if during else ""
        detail += f" (raised at {where})" if where else ""
        super().__init__(f"workflow run {run_id!r} ended {status}{detail}")
        self.run_id = run_id
        self.status = status
        self.cause = cause
        self.error = error
        self.step = step  # the step whose failure ended the run (None: the workflow code)
        self.where = where  # file:line of the code that raised, when the harness saw it


class WorkflowStuck(WfkitError, AssertionError):
    """The run can make no progress: it waits for something nothing will ever deliver."""

    def __init__(self, run_id: str, waiting_for: str) -> None:
        super().__init__(
            f"workflow run {run_id!r} is stuck {waiting_for}",
            hint="schedule the event with ctx.send_event(name, payload, after=...) "
            "or give the wait a timeout",
        )
        self.run_id = run_id
        self.waiting_for = waiting_for


class UnusedFault(WfkitError, AssertionError):
    """A crash point or injected failure that never came to pass before the run ended."""

    def __init__(self, run_id: str, missed: list[str], ran: list[str]) -> None:
        steps = ", ".join(ran) if ran else "none"
        super().__init__(
            f"workflow run {run_id!r} ended, but {'; '.join(missed)} never "
            f"happened (steps that ran: {steps})",
            hint="name the step as the workflow does (ctx.step(fn, name=...) "
            "renames it), pass the @step itself, or drop the fault",
        )
        self.run_id = run_id
        self.missed = missed
        self.ran = ran


class UnknownStep(WfkitError, AssertionError):
    """A lookup (``calls``, ``executions``, ``step_completed``, ``compensation_ran``) names a
    step that the workflow never calls, so its answer (``[]``, ``0``, ``False``) would test
    nothing."""

    def __init__(self, run_id: str, target: str, known: list[str]) -> None:
        steps = ", ".join(known) if known else "none"
        super().__init__(
            f"workflow run {run_id!r}: no step of the workflow matches {target}, "
            f"so looking it up can never find anything (its steps: {steps})",
            hint="pass the @step itself (it matches the call under any name=) or "
            "the name the workflow gives the call",
        )
        self.run_id = run_id
        self.target = target
        self.known = known


class UnusedEvent(WfkitError, AssertionError):
    """An event the test sends that no wait of the run ever waited for: most often a name
    misspelt on one side, which leaves the test exercising the timeout path only."""

    def __init__(
        self, run_id: str, unused: list[str], waited: list[str], *, runs: str | None = None
    ) -> None:
        names = ", ".join(repr(n) for n in unused)
        awaited = ", ".join(repr(n) for n in waited) if waited else "none"
        which = runs or f"workflow run {run_id!r}"
        super().__init__(
            f"the test sends the event{'s' if len(unused) != 1 else ''} {names}, "
            f"but no wait of {which} was for {'them' if len(unused) != 1 else 'it'}"
            f" (events the workflow waited for: {awaited})",
            hint="use the event name the workflow waits for, or pass "
            "allow_unused=True (verify: allow_unused_events=True) if the "
            "run rightly never waits for it",
        )
        self.run_id = run_id
        self.unused = unused
        self.waited = waited


class HashOrderError(WfkitError, AssertionError):
    """A run's history replays differently in a fresh interpreter with another
    ``PYTHONHASHSEED``: the workflow orders operations by iterating a set (or a dict built
    from one) of strings, so a crash or a deploy would break its in-flight runs."""

    def __init__(self, run_id: str, seed: int, message: str) -> None:
        super().__init__(
            f"workflow run {run_id!r} replays differently under PYTHONHASHSEED={seed}: {message}",
            hint="iterate sorted(...) instead of a set, or keep the order in a list",
        )
        self.run_id = run_id
        self.seed = seed
        self.divergence = message
