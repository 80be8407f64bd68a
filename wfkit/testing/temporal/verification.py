"""``verify_temporal`` and ``crash_matrix_temporal``: the harness's ``verify`` and
``crash_matrix`` for a Temporal ``@workflow.defn``, each example in a fresh
:class:`TemporalTestEnvironment`.

The harness's own ``verify`` takes a wfkit ``@workflow`` and explores *its* fault plans
(operation numbers, checkpoints); a Temporal workflow's faults are named by activity type and
attempt, and its crashes are Temporal's (the worker dies before or after the server records an
activity's outcome, or as a timer fires). So these are separate entry points that keep the one
vocabulary: ``invariant=``, ``plan=``, ``max_examples=``, ``max_failures=``, ``max_crashes=``,
crash points ``"after"`` (after the effect, before it is recorded) and ``"after_checkpoint"``,
the same :class:`~wfkit.testing.outcomes.VerifySummary`, :class:`VerificationError` and
:class:`~wfkit.testing.matrix.CrashMatrix`, the same Hypothesis profiles. And ``wfkit.testing``
stays importable without temporalio.

Each example must: end (not blocked, no failed workflow task, no feature not emulated); have a
history temporalio's own ``Replayer`` replays cleanly (one replay per distinct history shape,
so the check stays fast); satisfy ``invariant(outcome)``; and, when it crashed, end as the same
plan without crashes ends (a crash must not change what a workflow does) -- unless the crash lost
an attempt's outcome: Temporal then times the attempt out and runs a fresh one (or fails the
activity, for the last attempt), so only the invariant judges such a run.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import temporalio.workflow
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from wfkit.testing.context import format_duration
from wfkit.testing.matrix import CrashMatrix, MatrixCell
from wfkit.testing.outcomes import Ending, VerifySummary
from wfkit.testing.outcomes import report as report_summary
from wfkit.testing.temporal.environment import DEFAULT_START, TemporalTestEnvironment
from wfkit.testing.temporal.errors import NotEmulated, WorkflowBlocked, WorkflowTaskFailed
from wfkit.testing.temporal.failures import INJECTED_TYPE
from wfkit.testing.temporal.replay import replay_problem
from wfkit.testing.verification import VerificationError

# The harness's crash points, as Temporal has them, plus a timer's firing.
ACTIVITY_CRASH_POINTS = ("after", "after_checkpoint")
TIMER = "timer"
WORKFLOW_ID = "verify-1"

__all__ = [
    "TemporalCrash",
    "TemporalFailure",
    "TemporalOutcome",
    "TemporalPlan",
    "crash_matrix_temporal",
    "verify_temporal",
]


@dataclasses.dataclass(frozen=True)
class TemporalFailure:
    """Attempt ``attempt`` of every scheduling of ``activity`` raises an ``InjectedFailure``
    ``ApplicationError`` (non-retryable unless ``retryable``)."""

    activity: str
    attempt: int = 1
    retryable: bool = True


@dataclasses.dataclass(frozen=True)
class TemporalCrash:
    """The worker dies once: ``"after"`` the ``nth`` attempt of ``activity`` ran but before its
    outcome is recorded, ``"after_checkpoint"`` once it is, or as the ``nth`` ``"timer"`` fires
    (``activity`` None)."""

    point: str
    activity: str | None = None
    nth: int = 1


@dataclasses.dataclass(frozen=True)
class TemporalPlan:
    """The faults of one example; ``repr`` is a literal to paste into a regression test."""

    failures: tuple[TemporalFailure, ...] = ()
    crashes: tuple[TemporalCrash, ...] = ()

    def crash_free(self) -> TemporalPlan:
        return TemporalPlan(self.failures)

    def apply(self, env: TemporalTestEnvironment) -> None:
        for f in self.failures:
            env.fail(f.activity, attempt=f.attempt, retryable=f.retryable)
        for c in self.crashes:
            if c.point == TIMER:
                env.crash_at_timer(c.nth)
            elif c.point in ACTIVITY_CRASH_POINTS and c.activity is not None:
                env.crash_after(c.activity, recorded=c.point == "after_checkpoint", nth=c.nth)
            else:
                raise ValueError(f"not a Temporal crash point: {c!r}")


@dataclasses.dataclass
class TemporalOutcome:
    """How one example ended: what ``invariant`` receives.

    ``status`` is COMPLETED, FAILED or CANCELLED (as in the harness's summary), or STUCK when
    the environment could not finish the run (``problem`` says why); ``result`` the workflow's
    return value, ``error`` the cause of its ``WorkflowFailureError``; ``env`` the environment
    (``env.executions(activity)``, ``env.runs``), ``history`` the run's Temporal history."""

    status: str
    result: Any = None
    error: BaseException | None = None
    problem: str | None = None
    env: TemporalTestEnvironment | None = None

    @property
    def history(self) -> Any:
        assert self.env is not None
        return self.env.runs[WORKFLOW_ID].history()

    def executions(self, activity: Callable[..., Any] | str) -> int:
        assert self.env is not None
        return self.env.executions(activity)

    def same_ending(self) -> tuple[Any, ...]:
        """What a crash must not change."""
        error = self.error
        if isinstance(error, ApplicationError):
            return (self.status, error.type, error.message)
        return (self.status, type(error).__name__ if error else None, repr(self.result))

    def ending(self) -> Ending:
        """The harness's shape: the status and, for a failed run, what made it fail: the first
        error an activity raised that was not injected (naming the activity as ``step``), or
        ``InjectedFailure``, or the workflow's own error (a saga's rollback hides the cause)."""
        if self.error is None:
            return Ending(self.status)
        errors = self.env.activity_errors if self.env is not None else []
        own = [(a, e) for a, e in errors if _kind(e) != INJECTED_TYPE]
        if own or errors:
            activity, error = (own or errors)[0]
            return Ending(self.status, _kind(error), _message(error), activity)
        return Ending(self.status, _kind(self.error), _message(self.error))


def _kind(error: BaseException) -> str:
    if isinstance(error, ApplicationError) and error.type:
        return error.type
    return type(error).__name__


def _message(error: BaseException) -> str:
    return error.message if isinstance(error, ApplicationError) else str(error)


class TemporalChecker:
    """Runs plans in fresh environments and checks each outcome."""

    def __init__(
        self,
        run_fn: Callable[..., Any],
        args: tuple[Any, ...],
        activities: Sequence[Callable[..., Any]],
        workflows: Sequence[type],
        setup: Callable[[TemporalTestEnvironment], Any] | None,
        invariant: Callable[[TemporalOutcome], Any] | None,
        start: datetime,
    ) -> None:
        defn = temporalio.workflow._Definition.must_from_run_fn(run_fn)
        self.name = defn.name or run_fn.__qualname__
        self.run_fn = run_fn
        self.args = args
        self.activities = list(activities)
        self.workflows = list(dict.fromkeys([defn.cls, *workflows]))
        self.setup = setup
        self.invariant = invariant
        self.start = start
        self.summary = VerifySummary(self.name, tool="verify_temporal")
        self.replayed: set[tuple[Any, ...]] = set()  # history shapes the Replayer accepted
        self._crash_free: dict[TemporalPlan, TemporalOutcome] = {}

    def run(self, plan: TemporalPlan) -> TemporalOutcome:
        env = TemporalTestEnvironment(self.workflows, self.activities, start=self.start)
        if self.setup is not None:
            self.setup(env)
        plan.apply(env)
        try:
            result = asyncio.run(env.execute(self.run_fn, *self.args, id=WORKFLOW_ID))
        except WorkflowFailureError as failed:
            status = "CANCELLED" if isinstance(failed.cause, CancelledError) else "FAILED"
            return TemporalOutcome(status, error=failed.cause, env=env)
        except (WorkflowBlocked, WorkflowTaskFailed, NotEmulated) as stuck:
            return TemporalOutcome("STUCK", problem=str(stuck), env=env)
        except temporalio.workflow.NondeterminismError as error:
            return TemporalOutcome("STUCK", problem=f"non-determinism: {error}", env=env)
        return TemporalOutcome("COMPLETED", result=result, env=env)

    def evaluate(self, plan: TemporalPlan) -> tuple[TemporalOutcome, list[str]]:
        outcome = self.run(plan)
        if outcome.problem is not None:
            return outcome, [f"the run did not end: {outcome.problem}"]
        problems = []
        replay = self.replay_problem(outcome)
        if replay is not None:
            problems.append(replay)
        if self.invariant is not None:
            try:
                held = self.invariant(outcome)
            except AssertionError as broken:
                problems.append(f"invariant failed: {broken or 'assertion'}")
            else:
                if held is False:
                    problems.append("invariant returned False")
        if plan.crashes and outcome.env is not None and not outcome.env.lost_attempts:
            twin = self.crash_free(plan)
            if twin.problem is None and twin.same_ending() != outcome.same_ending():
                problems.append(
                    f"with crashes the run ended {_ending_text(outcome)}; the same plan"
                    f" without crashes ends {_ending_text(twin)}"
                )
        return outcome, problems

    def crash_free(self, plan: TemporalPlan) -> TemporalOutcome:
        key = plan.crash_free()
        if key not in self._crash_free:
            self._crash_free[key] = self.run(key)
        return self._crash_free[key]

    def replay_problem(self, outcome: TemporalOutcome) -> str | None:
        """temporalio's Replayer on the histories of the example's runs (the workflow's and
        its children's), once per distinct shape of history."""
        assert outcome.env is not None
        for run in outcome.env.all_runs:
            if not run.replayable:
                continue
            history = run.history()
            shape = tuple(
                (e.event_type, e.activity_task_scheduled_event_attributes.activity_type.name)
                for e in history.events
            )
            if shape in self.replayed:
                continue
            problem = replay_problem(history, self.workflows)
            if problem is not None:
                where = "" if run.id == WORKFLOW_ID else f" of child {run.id!r}"
                if run._continued_from is not None:
                    where += f" (run {run.run_id}, continued as new)"
                return f"temporalio's Replayer rejects the history{where}: {problem}"
            self.replayed.add(shape)
        return None

    def check(self, plan: TemporalPlan) -> TemporalOutcome:
        __tracebackhide__ = True
        outcome, problems = self.evaluate(plan)
        if problems:
            raise VerificationError(
                self.name,
                plan,
                problems,
                self.report(plan, outcome, problems),
            )
        assert outcome.env is not None
        self.summary.add(outcome.ending(), sum(r.crashes for r in outcome.env.all_runs))
        return outcome

    def report(self, plan: TemporalPlan, outcome: TemporalOutcome, problems: list[str]) -> str:
        lines = [f"verify_temporal({self.name}) found a problem:"]
        lines += [f"  - {p}" for p in problems]
        lines += ["", "timeline:"]
        lines += [f"  {line}" for line in timeline(outcome.env, self.start)]
        lines += ["", "to check this plan again:", f"  plan={plan!r}"]
        return "\n".join(lines)


def timeline(env: TemporalTestEnvironment | None, start: datetime) -> list[str]:
    """The environment's log as the harness prints a timeline: ``+5s  deposit attempt 2: ...``."""
    if env is None:
        return []
    return [
        f"+{format_duration((at - start).total_seconds()):<8} {text}" for at, _, text in env.log
    ]


def _ending_text(outcome: TemporalOutcome) -> str:
    if outcome.error is not None:
        return f"{outcome.status} ({_kind(outcome.error)}: {_message(outcome.error)})"
    return f"{outcome.status} ({outcome.result!r})"


def plans(
    activities: Sequence[str], timers: int, max_failures: int, max_crashes: int
) -> st.SearchStrategy[TemporalPlan]:
    """Plans over the activities and timers the happy path met; they shrink to fewer faults,
    earlier activities, first attempts."""
    names = st.sampled_from(list(activities))
    failure = st.builds(TemporalFailure, names, st.integers(1, 3), st.booleans())
    crash = st.builds(
        TemporalCrash, st.sampled_from(ACTIVITY_CRASH_POINTS), names, st.integers(1, 2)
    )
    if timers:
        crash = crash | st.builds(TemporalCrash, st.just(TIMER), st.none(), st.integers(1, timers))
    return st.builds(
        TemporalPlan,
        st.lists(failure, max_size=max_failures).map(tuple),
        st.lists(crash, max_size=max_crashes).map(tuple),
    )


def verify_temporal(
    run_fn: Callable[..., Any],
    *args: Any,
    activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = (),
    setup: Callable[[TemporalTestEnvironment], Any] | None = None,
    invariant: Callable[[TemporalOutcome], Any] | None = None,
    start: datetime = DEFAULT_START,
    max_examples: int | None = None,
    plan: TemporalPlan | None = None,
    max_failures: int = 2,
    max_crashes: int = 2,
    allow_uniform_failure: bool = False,
    **settings: Any,
) -> VerifySummary:
    """Explore activity failures and worker crashes for ``Workflow.run(*args)``; raise
    :class:`VerificationError` (with the shrunk plan's timeline) on a violation.

    ``activities``: the real ``@activity.defn`` functions; ``setup(env)`` runs on each fresh
    environment (mock activities there); ``invariant(outcome)`` gets a
    :class:`TemporalOutcome` and fails by raising ``AssertionError`` or returning False.
    ``plan=`` checks one plan instead of exploring. Extra keyword arguments are Hypothesis
    settings; ``max_examples`` defaults to the current profile's (``wfkit-ci``: 25).

    As with ``verify``: when every example that no injected failure ended ended the same way
    by a programming error (``TypeError``, ``KeyError``, ...) raised in an activity -- a bug in
    a fake, most often -- nothing else was tested, and that fails too unless
    ``allow_uniform_failure=True``.
    """
    __tracebackhide__ = True
    checker = TemporalChecker(run_fn, args, activities, workflows, setup, invariant, start)
    if plan is not None:
        checker.check(plan)
        return checker.summary
    happy = checker.check(TemporalPlan())
    assert happy.env is not None
    names = list(dict.fromkeys(happy.env.attempted))
    timers = happy.env.timers_fired
    if not names and not timers:
        report_summary(checker.summary)
        return checker.summary
    if max_examples is not None:
        settings["max_examples"] = max_examples
    names = names or ["-"]

    @hypothesis_settings(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        **settings,
    )
    @given(plans(names, timers, max_failures, max_crashes))
    def explore(plan: TemporalPlan) -> None:
        __tracebackhide__ = True
        checker.check(plan)

    for simple in reversed(single_fault_plans(happy.env.attempted, timers)):
        explore = example(simple)(explore)
    explore()
    report_summary(checker.summary)
    uniform = checker.summary.uniform_programming_error()
    if uniform is not None and not allow_uniform_failure:
        problem = (
            f"every example that no injected failure ended ({checker.summary.endings[uniform]}"
            f" of {checker.summary.examples}) ended {uniform.status} by {uniform.error}:"
            f" {uniform.message} raised in activity {uniform.step!r}, so no plan tested"
            " anything else (a bug in a fake or a mock? pass allow_uniform_failure=True if"
            " this is what the activity always does)"
        )
        raise VerificationError(
            checker.name,
            TemporalPlan(),
            [problem],
            f"verify_temporal({checker.name}) tested nothing but one failure:\n  - {problem}"
            f"\n{checker.summary.line()}",
        )
    return checker.summary


def single_fault_plans(attempted: Sequence[str], timers: int) -> list[TemporalPlan]:
    """The plans of one fault each, tried before Hypothesis explores: a crash at every point of
    the happy run (the crash matrix's cells), and each activity failing for good at once."""
    out = [TemporalPlan(crashes=(crash,)) for _, _, _, crash in crash_points(attempted, timers)]
    for name in dict.fromkeys(attempted):
        out.append(TemporalPlan(failures=(TemporalFailure(name, 1, retryable=False),)))
    return out


def crash_points(
    attempted: Sequence[str], timers: int
) -> list[tuple[int, str, str, TemporalCrash]]:
    """(row number, kind, name, crash) for every crash point of a run whose activity attempts
    were ``attempted`` and which fired ``timers`` timers."""
    cells: list[tuple[int, str, str, TemporalCrash]] = []
    seen: dict[str, int] = {}
    for number, name in enumerate(attempted, start=1):
        seen[name] = seen.get(name, 0) + 1
        for point in ACTIVITY_CRASH_POINTS:
            cells.append((number, "activity", name, TemporalCrash(point, name, seen[name])))
    for nth in range(1, timers + 1):
        cells.append(
            (len(attempted) + nth, "timer", f"timer {nth}", TemporalCrash(TIMER, None, nth))
        )
    return cells


def crash_matrix_temporal(
    run_fn: Callable[..., Any],
    *args: Any,
    activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = (),
    setup: Callable[[TemporalTestEnvironment], Any] | None = None,
    invariant: Callable[[TemporalOutcome], Any] | None = None,
    start: datetime = DEFAULT_START,
) -> CrashMatrix:
    """Crash once at every point of the happy run (after each activity attempt, before and
    after its outcome is recorded; as each timer fires), recover, check; the table."""
    checker = TemporalChecker(run_fn, args, activities, workflows, setup, invariant, start)
    happy, problems = checker.evaluate(TemporalPlan())
    if problems:
        raise VerificationError(
            checker.name,
            TemporalPlan(),
            problems,
            checker.report(TemporalPlan(), happy, problems),
        )
    assert happy.env is not None
    cells = crash_points(happy.env.attempted, happy.env.timers_fired)
    table = CrashMatrix(checker.name)
    first_failure: tuple[TemporalPlan, TemporalOutcome, list[str]] | None = None
    for number, kind, name, crash in cells:
        plan = TemporalPlan(crashes=(crash,))
        outcome, problems = checker.evaluate(plan)
        detail = outcome.ending().error or (
            repr(outcome.result) if outcome.result is not None else None
        )
        shown = f"{outcome.status} ({detail})" if detail else outcome.status
        table.cells.append(MatrixCell(number, kind, name, crash.point, shown, tuple(problems)))
        if problems and first_failure is None:
            first_failure = (plan, outcome, problems)
    if first_failure is not None:
        plan, outcome, problems = first_failure
        raise VerificationError(
            checker.name,
            plan,
            problems,
            f"{table}\n\n{checker.report(plan, outcome, problems)}",
        )
    return table
