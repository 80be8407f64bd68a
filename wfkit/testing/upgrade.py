"""``verify_upgrade``: prove that runs in flight under the old code finish on the new code.

A deploy stops the processes running the old code and starts processes running the new code
on the same store: every run in flight is then replayed by the new code from what the old code
recorded. Hypothesis draws where the old code stops (an :class:`Upgrade`): at any operation,
as a crash point of ``verify`` (before a step's effect, after it, after its checkpoint,
inside a compensation), or after some virtual time, when the run may be parked on a wait or a
timer; plus the failures and event arrivals ``verify`` draws. The run then resumes on the new
code, and ``verify``'s properties must hold, checked against the new code (it is what replays
the final history), with one more: the new code must not diverge from the recorded
operations (a :class:`~wfkit.errors.NonDeterminismError`).

This is ``verify``'s :class:`~wfkit.testing.verification.Checker` with the first process
running another workflow: the same plans, strategies, checks, shrinking and report (the
shrunk timeline shows where the old process stopped and the new one took over, and the
problem names the first divergent operation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from wfkit.engine.core.numbering import seq_label
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.status import RunStatus
from wfkit.errors import DefinitionError, NonDeterminismError
from wfkit.testing.context import TestWorkflowContext, format_duration
from wfkit.testing.errors import SimulatedCrash, WorkflowFailed
from wfkit.testing.faults import CrashPoint
from wfkit.testing.outcomes import VerifySummary
from wfkit.testing.outcomes import report as report_summary
from wfkit.testing.plan import CRASH_POINTS, Plan, PlanRun
from wfkit.testing.report import _call_args, _identifier, _imports_for, timeline
from wfkit.testing.strategies import ARRIVALS, DOWNTIMES, arrivals, failures, operation_numbers
from wfkit.testing.verification import Checker, _body_ops, check_events_waited
from wfkit.testing.virtual_time import FrozenTime, parse_start

__all__ = ["Upgrade", "UpgradePlan", "verify_upgrade"]

DIVERGED = "the new code diverged from the run the old code recorded: "


@dataclass(frozen=True)
class Upgrade:
    """Where the new code takes the run over.

    With ``seq``: the process running the old code dies at operation ``seq`` (``point`` in
    ``CRASH_POINTS``, as for :class:`~wfkit.testing.Crash`; ``after`` on a compensation stops
    it inside compensation). With ``seq=None``: the old code runs for ``after`` seconds of
    virtual time (the run may be parked on a wait, a timer or a child by then). A process
    running the new code resumes the run ``downtime`` seconds later. If the run ends before
    the point is reached, the old code finished it and nothing was upgraded.
    """

    seq: int | None = 1
    point: str = "before"
    after: float = 0.0
    downtime: float = 0.0

    def __post_init__(self) -> None:
        if self.point not in CRASH_POINTS:
            raise DefinitionError(
                f"Upgrade point must be one of {', '.join(CRASH_POINTS)}, got {self.point!r}"
            )

    def describe(self) -> str:
        down = f"; the new code takes over {format_duration(self.downtime)} later"
        if self.seq is None:
            return f"the old code runs for {format_duration(self.after)}" + down
        where = {
            "before": "as it starts",
            "after": "after its effect, before its checkpoint",
            "after_checkpoint": "after its checkpoint",
        }[self.point]
        return f"the old code stops at operation {seq_label(self.seq)} {where}" + down


@dataclass(frozen=True)
class UpgradePlan(Plan):
    """A fault plan (failures, event arrivals) and where the upgrade happens. Its ``repr`` is
    valid Python, for ``verify_upgrade(..., plan=...)`` regression tests."""

    upgrade: Upgrade = field(default_factory=Upgrade)

    def describe(self) -> list[str]:
        lines = [line for line in super().describe() if not line.startswith("no faults")]
        return [*lines, self.upgrade.describe()]


def upgrades(max_seq: int, compensations: int = 0) -> st.SearchStrategy[Upgrade]:
    """Upgrade points, shrinking toward the first operation, at once, with no downtime."""
    at_operation = st.builds(
        Upgrade,
        seq=operation_numbers(max_seq, compensations),
        point=st.sampled_from(CRASH_POINTS),
        downtime=st.sampled_from(DOWNTIMES),
    )
    after_a_while = st.builds(
        Upgrade,
        seq=st.none(),
        after=st.sampled_from(ARRIVALS[1:]),
        downtime=st.sampled_from(DOWNTIMES),
    )
    return at_operation | after_a_while


def upgrade_plans(
    max_seq: int,
    *,
    events: Mapping[str, Sequence[Any]] | None = None,
    max_failures: int = 2,
    compensations: int = 0,
) -> st.SearchStrategy[UpgradePlan]:
    return st.builds(
        UpgradePlan,
        failures=failures(max_seq, max_failures=max_failures, compensations=compensations),
        events=arrivals(events),
        upgrade=upgrades(max_seq, compensations),
    )


def verify_upgrade(
    old_workflow: WorkflowDef[Any],
    new_workflow: WorkflowDef[Any],
    *args: Any,
    mocks: Mapping[Any, Any] | None = None,
    setup: Callable[[], Any] | None = None,
    invariant: Callable[[TestWorkflowContext], Any] | None = None,
    events: Mapping[str, Sequence[Any]] | None = None,
    start: str | datetime | None = None,
    max_examples: int | None = None,
    plan: UpgradePlan | None = None,
    max_failures: int = 2,
    kwargs: Mapping[str, Any] | None = None,
    allow_unused_events: bool = False,
    **settings: Any,
) -> VerifySummary:
    """Explore upgrade points for a run of ``old_workflow(*args)`` that ``new_workflow``
    takes over; raise :class:`~wfkit.testing.VerificationError` on a violation.

    The arguments mean what they mean for :func:`~wfkit.testing.verify` (``mocks`` apply to
    both versions: name steps by name when the versions define them apart); ``invariant(ctx)``
    is checked after the new code finished the run. ``plan=`` checks one
    :class:`UpgradePlan` (a regression test). Both workflows must have the same registered
    name: runs are resumed by name.
    """
    __tracebackhide__ = True
    for which, wf in (("old_workflow", old_workflow), ("new_workflow", new_workflow)):
        if not isinstance(wf, WorkflowDef):
            raise DefinitionError(f"verify_upgrade {which} must be a @workflow, got {wf!r}")
    if old_workflow.name != new_workflow.name:
        raise DefinitionError(
            f"verify_upgrade: the old workflow is named {old_workflow.name!r} and the new one "
            f"{new_workflow.name!r}; runs of the one never resume on the other",
            hint="give the new version the old registered name (@workflow(name=...))",
        )
    if plan is not None and not isinstance(plan, UpgradePlan):
        raise DefinitionError(f"verify_upgrade(plan=...) needs an UpgradePlan, got {plan!r}")
    checker = UpgradeChecker(
        old_workflow, new_workflow, args, dict(kwargs or {}), mocks or {}, setup, invariant, start
    )
    if max_examples is not None:
        settings["max_examples"] = max_examples
    with FrozenTime(parse_start(start)) as frozen:
        checker.frozen = frozen
        if plan is not None:
            checker.check(plan)
            return checker.summary
        # How many operations the old code records, and compensates, on its happy path.
        old_alone = Checker(
            old_workflow, args, dict(kwargs or {}), mocks or {}, setup, None, start, False
        )
        old_alone.frozen = frozen
        first, _ = old_alone.evaluate(Plan())
        max_seq = max(_body_ops(first.ctx), 1) + 1
        compensable = len(first.ctx.replayed.compensable) if first.ctx.replayed else 0

        @hypothesis_settings(
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            **settings,
        )
        @given(
            upgrade_plans(
                max_seq, events=events, max_failures=max_failures, compensations=compensable
            )
        )
        def explore(plan: UpgradePlan) -> None:
            __tracebackhide__ = True
            checker.check(plan, explored=True)

        explore()
    summary = checker.summary
    summary.notes.append(f"{checker.upgraded} of {summary.examples} runs upgraded mid-way")
    report_summary(summary)
    if not allow_unused_events:
        check_events_waited(
            events,
            checker.waited,
            f"the {summary.examples} runs verify_upgrade({new_workflow.name}) explored",
        )
    return summary


class UpgradeChecker(Checker):
    """``verify``'s checker whose runs start on the old code and end on the new code."""

    def __init__(
        self,
        old: WorkflowDef[Any],
        new: WorkflowDef[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mocks: Mapping[Any, Any],
        setup: Callable[[], Any] | None,
        invariant: Callable[[TestWorkflowContext], Any] | None,
        start: str | datetime | None,
    ) -> None:
        super().__init__(new, args, kwargs, mocks, setup, invariant, start, False)
        self.summary.tool = "verify_upgrade"
        self.old = old
        self.upgraded = 0  # examples in which the new code took over a run in flight

    def evaluate(self, plan: Plan) -> tuple[PlanRun, list[str]]:
        """One run, no crash-free twin: two versions of the code need not end alike."""
        first = self.run(plan)
        return first, list(first.problems)

    def _run_with_resumes(self, ctx: TestWorkflowContext, done: PlanRun) -> tuple[str, Any]:
        plan = done.plan
        upgrade = plan.upgrade if isinstance(plan, UpgradePlan) else Upgrade()
        try:
            if self._run_old(ctx, upgrade):
                with ctx._virtual_time():
                    ctx._finish()  # the old code finished the run: its own checks
            else:
                self.upgraded += 1
                ctx.faults.note("deploy: the process running the old code stops", None)
                ctx.workflow = self.workflow
                ctx._engine = None  # what the old process registered (the old code) is gone
                try:
                    ctx.resume(upgrade.downtime)
                except SimulatedCrash:
                    self._resume(ctx, done)
        except NonDeterminismError as diverged:  # the auto-replay of the final history
            done.problems.append(DIVERGED + diverged.message)
            return RunStatus.FAILED.value, "NonDeterminismError"
        except WorkflowFailed as failed:
            error = failed.error or {}
            if error.get("type") == "NonDeterminismError":
                done.problems.append(DIVERGED + str(error.get("message", "")))
            return failed.status, error.get("type")
        run = ctx.store.get_run(ctx.run_id) if ctx.run_id else None
        return RunStatus.COMPLETED.value, run.result if run else None

    def _check_replay_stability(self, ctx: TestWorkflowContext, done: PlanRun) -> None:
        if not any(p.startswith(DIVERGED) for p in done.problems):  # said once is enough
            super()._check_replay_stability(ctx, done)

    def _run_old(self, ctx: TestWorkflowContext, upgrade: Upgrade) -> bool:
        """Run the old code up to the upgrade point; True if it finished the run first."""
        ctx._begin(self.old, self.args, self.kwargs, None)
        if upgrade.seq is None:
            with ctx._virtual_time():
                return ctx._drive_until(ctx.now() + timedelta(seconds=upgrade.after))
        kind = "at" if upgrade.point == "before" else upgrade.point
        ctx.faults.crashes.append(
            CrashPoint(kind, upgrade.seq, by_seq=True, downtime=upgrade.downtime)
        )
        try:
            with ctx._virtual_time():
                ctx._drive_to_end()
        except SimulatedCrash:
            return False
        return True

    def report(self, plan: Plan, first: PlanRun, problems: list[str], extra: str = "") -> str:
        old, new = self.old, self.workflow
        lines = [
            f"verify_upgrade({old.fn.__module__}.{old.fn.__name__} -> "
            f"{new.fn.__module__}.{new.fn.__name__}) found a problem. The smallest plan:"
        ]
        lines += [f"  - {line}" for line in plan.describe()]
        lines.append("Timeline (virtual time since start):")
        lines += [f"  {line}" for line in timeline(first.ctx)]
        lines.append("Problems:")
        lines += [f"  - {p}" for p in problems]
        lines.append("A regression test for it (add your mocks/setup/invariant arguments):")
        lines += [""] + [f"    {line}" if line else "" for line in self.snippet(plan)]
        return "\n".join(lines)

    def snippet(self, plan: Plan) -> list[str]:
        old, new = self.old.fn, self.workflow.fn
        imports = {
            ("wfkit.testing", "Arrival, Failure, Upgrade, UpgradePlan, verify_upgrade"),
            (old.__module__, None),
            (new.__module__, None),
        }
        for value in [*self.args, *self.kwargs.values(), *(e.payload for e in plan.events)]:
            imports.update(_imports_for(value, 0))
        lines = sorted(
            f"import {module}" if name is None else f"from {module} import {name}"
            for module, name in imports
            if module != "builtins"
        )
        return [
            *lines,
            "",
            "",
            f"def test_{_identifier(self.workflow.name)}_upgrade_regression():",
            f"    verify_upgrade({old.__module__}.{old.__name__}, "
            f"{new.__module__}.{new.__name__}{_call_args(self.args, self.kwargs)}, "
            f"plan={plan!r})",
        ]
