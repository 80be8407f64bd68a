"""``verify``: explore fault plans with Hypothesis and prove recovery and compensation correct.

For each plan (which operations fail, where the process crashes and for how long, when events
arrive) the workflow runs on a fresh TestWorkflowContext, resuming after every crash, and these
must hold:

1. the run ends in a terminal status (never stuck);
2. replaying its final history reproduces the same operations (auto-replay);
3. compensations ran for exactly the completed steps that have one, in reverse completion
   order (none for a completed run);
4. the user's ``invariant(run)`` holds;
5. with ``require_idempotent=True``, every step re-executed in a crash window is idempotent;
6. a plan with crashes ends exactly like the same plan without crashes.

Over all the examples: not every one ended by the same programming error raised in a step
(:mod:`.outcomes`), every name in ``events`` was waited for by some run (``UnusedEvent``), and,
with hash seeds, the histories replay alike in fresh interpreters (:mod:`.hashseed`).

A violation raises :class:`VerificationError` describing the smallest failing plan Hypothesis
found, as a timeline, with a ``plan=`` literal to paste into a regression test.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings

from wfkit.engine.core.failures import error_data
from wfkit.engine.core.numbering import seq_label
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.history import replay
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.errors import DefinitionError, NonDeterminismError
from wfkit.testing.context import TestWorkflowContext
from wfkit.testing.errors import (
    SimulatedCrash,
    UnusedEvent,
    WorkflowFailed,
    WorkflowStuck,
)
from wfkit.testing.faults import CrashPoint
from wfkit.testing.hashseed import (
    DEFAULT_SEEDS,
    importable,
    replay_under_seeds,
    step_calls,
)
from wfkit.testing.outcomes import PROGRAMMING_ERRORS, VerifySummary, ending_of
from wfkit.testing.outcomes import report as report_summary
from wfkit.testing.plan import Plan, PlanRun
from wfkit.testing.profiles import CI_PROFILE, THOROUGH_PROFILE
from wfkit.testing.report import regression_snippet, timeline
from wfkit.testing.strategies import plans
from wfkit.testing.virtual_time import FrozenTime, parse_start

_MAX_RESUMES = 20
_MAX_HASH_PATHS = 50  # distinct paths replayed under other hash seeds
__all__ = ["PROGRAMMING_ERRORS", "VerificationError", "VerifySummary", "timeline", "verify"]


class VerificationError(AssertionError):
    """A fault plan broke a property; the message is the plan as a readable timeline."""

    # ``plan`` is the plan that broke it: a Plan here, a TemporalPlan from
    # wfkit.testing.temporal (which this module must not import: temporalio is optional).
    def __init__(self, workflow: str, plan: Any, problems: list[str], report: str) -> None:
        super().__init__(report)
        self.workflow = workflow
        self.plan = plan
        self.problems = problems


def check_events_waited(
    events: Mapping[str, Sequence[Any]] | None, waited: Collection[str], runs: str
) -> None:
    """Raise :class:`UnusedEvent` for events the test gives that no explored run waited for
    (a misspelt name leaves the test exercising the timeout path only)."""
    unused = sorted(
        name for name, payloads in (events or {}).items() if list(payloads) and name not in waited
    )
    if unused:
        raise UnusedEvent("?", unused, sorted(waited), runs=runs)


def verify(
    workflow: WorkflowDef[Any],
    *args: Any,
    mocks: Mapping[Any, Any] | None = None,
    setup: Callable[[], Any] | None = None,
    invariant: Callable[[TestWorkflowContext], Any] | None = None,
    events: Mapping[str, Sequence[Any]] | None = None,
    start: str | datetime | None = None,
    require_idempotent: bool = False,
    max_examples: int | None = None,
    plan: Plan | None = None,
    max_failures: int = 3,
    max_crashes: int = 2,
    kwargs: Mapping[str, Any] | None = None,
    allow_uniform_failure: bool = False,
    allow_unused_events: bool = False,
    hash_seeds: Sequence[int] | None = None,
    **settings: Any,
) -> VerifySummary:
    """Explore fault plans for ``workflow(*args)``; raise VerificationError on a violation.

    ``mocks`` maps a step (or step name) to a value it returns or a callable standing in for
    it. ``setup()`` runs before every plan (reset fake services). ``events`` maps event names
    to example payloads. ``plan=`` checks one given plan instead of exploring (regressions).
    Extra keyword arguments are Hypothesis settings (``deadline``, ``derandomize``, ...).
    ``max_examples`` defaults to the current Hypothesis profile's (``wfkit-ci``: 25,
    ``wfkit-thorough``: 2,000); given, it wins.

    Returns how the examples ended (:class:`VerifySummary`; the pytest plugin prints its line).
    When every example ended the same way by a programming error raised in a step (most often
    a bug in the test's own fake), nothing else was tested: that fails too, unless
    ``allow_uniform_failure=True``. So does a name in ``events`` that no run waited for
    (:class:`UnusedEvent`), unless ``allow_unused_events=True``.

    ``hash_seeds``: replay the histories the examples produced (one per distinct path) in
    fresh interpreters under these ``PYTHONHASHSEED`` values, which exposes steps ordered by
    iterating a set. Default: seeds 1 and 2 under the ``wfkit-ci`` and ``wfkit-thorough``
    profiles, none otherwise; ``()`` turns it off.
    """
    __tracebackhide__ = True
    if not isinstance(workflow, WorkflowDef):
        raise DefinitionError(f"verify needs a @workflow, got {type(workflow).__name__}")
    checker = Checker(
        workflow, args, dict(kwargs or {}), mocks or {}, setup, invariant, start, require_idempotent
    )
    if max_examples is not None:
        settings["max_examples"] = max_examples
    checker.hash_seeds, checker.hash_seeds_given = resolve_seeds(hash_seeds)
    with FrozenTime(parse_start(start)) as frozen:
        checker.frozen = frozen
        if plan is not None:
            checker.check(plan)
            checker.check_hash_order()  # a regression of a hash-order bug checks it too
            return checker.summary
        happy = checker.check(Plan())
        # Operations of the happy path (and one more), and the compensations failure paths run.
        max_seq = max(happy.ops_seen, 1) + 1

        # Unset settings come from the current profile (hypothesis_settings() reads it now).
        @hypothesis_settings(
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            **settings,
        )
        @given(
            plans(
                max_seq,
                events=events,
                max_failures=max_failures,
                max_crashes=max_crashes,
                compensations=happy.compensable_seen,
            )
        )
        def explore(plan: Plan) -> None:
            __tracebackhide__ = True
            checker.check(plan, explored=True)

        explore()
    summary = checker.summary
    checker.check_hash_order()
    report_summary(summary)
    if not allow_unused_events:
        check_events_waited(
            events, checker.waited, f"the {summary.examples} runs verify({workflow.name}) explored"
        )
    uniform = summary.uniform_programming_error()
    if uniform is not None and not allow_uniform_failure:
        problem = (
            f"every example that no injected failure ended ({summary.endings[uniform]} "
            f"of {summary.examples}) ended {uniform.status} by "
            f"{uniform.error}: {uniform.message} raised in step {uniform.step!r}"
            + (f" at {uniform.where}" if uniform.where else "")
            + ", so no plan tested anything else (a bug in a fake or a mock? pass "
            "allow_uniform_failure=True if this is what the step always does)"
        )
        raise VerificationError(
            workflow.name,
            Plan(),
            [problem],
            f"verify({workflow.name}) tested nothing but one failure:\n"
            f"  - {problem}\n{summary.line()}",
        )
    return summary


def resolve_seeds(seeds: Sequence[int] | None) -> tuple[tuple[int, ...], bool]:
    """``(seeds, given)``: the caller's, or 1 and 2 under the wfkit-ci and wfkit-thorough
    profiles (none under any other)."""
    if seeds is not None:
        return tuple(seeds), True
    from hypothesis import settings as current

    profile = current.get_current_profile_name()
    return (DEFAULT_SEEDS if profile in (CI_PROFILE, THOROUGH_PROFILE) else ()), False


class Checker:
    def __init__(
        self,
        workflow: WorkflowDef[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mocks: Mapping[Any, Any],
        setup: Callable[[], Any] | None,
        invariant: Callable[[TestWorkflowContext], Any] | None,
        start: str | datetime | None,
        require_idempotent: bool,
    ) -> None:
        self.workflow = workflow
        self.args = args
        self.kwargs = kwargs
        self.mocks = mocks
        self.setup = setup
        self.invariant = invariant
        self.start = start
        self.require_idempotent = require_idempotent
        self.frozen: FrozenTime | None = None
        self.ops_seen = 0
        self.compensable_seen = 0
        self.summary = VerifySummary(workflow.name)
        self.waited: set[str] = set()  # event names some run waited for
        # One history per distinct path (operations and step calls), for the hash-seed replay.
        self.paths: dict[tuple[Any, ...], tuple[Plan, str, list[list[Any]]]] = {}
        self.hash_seeds: tuple[int, ...] = ()
        self.hash_seeds_given = False

    def check(self, plan: Plan, explored: bool = False) -> Checker:
        __tracebackhide__ = True
        first, problems = self.evaluate(plan)
        if problems:
            raise VerificationError(
                self.workflow.name, plan, problems, self.report(plan, first, problems)
            )
        self.waited.update(first.ctx.waited_events())
        self.keep_history(plan, first)
        ending = ending_of(first.ctx)
        self.summary.add(ending, first.crashes)
        if explored:  # hypothesis --hypothesis-show-statistics lists these
            event(f"ended {ending.status}")
            if first.crashes:
                event("crashed and resumed")
        return self

    def keep_history(self, plan: Plan, done: PlanRun) -> None:
        ctx = done.ctx
        if not self.hash_seeds or ctx.run_id is None or len(self.paths) >= _MAX_HASH_PATHS:
            return
        calls = step_calls(ctx)
        key = (
            tuple(
                (op.kind.value, op.name, op.status.value) for op in ctx.store.operations(ctx.run_id)
            ),
            tuple(tuple(c[1:]) for c in calls),
        )
        if key not in self.paths:
            self.paths[key] = (plan, ctx.history.to_json(), calls)

    def check_hash_order(self) -> None:
        """Replay the kept histories under other hash seeds (see :mod:`.hashseed`)."""
        __tracebackhide__ = True
        seeds = self.hash_seeds
        if not seeds or not self.paths:
            return
        why_not = importable(self.workflow)
        if why_not is not None:
            if self.hash_seeds_given:
                raise DefinitionError(f"verify(hash_seeds=...): {why_not}")
            self.summary.notes.append(f"hash order not checked: {why_not}")
            return
        kept = list(self.paths.values())
        found = replay_under_seeds(
            self.workflow, [h for _, h, _ in kept], seeds, [c for _, _, c in kept]
        )
        self.summary.notes.append(
            f"{len(kept)} histories replayed under PYTHONHASHSEED="
            + ",".join(str(s) for s in seeds)
        )
        if found:
            plan = kept[found[0].history][0]
            problems = [
                f"replaying this run's history in a fresh interpreter under "
                f"PYTHONHASHSEED={found[0].seed} diverged (the workflow orders its "
                "steps by iterating a set or another hash-ordered collection: iterate "
                f"sorted(...) instead): {found[0].message}"
            ]
            with self.frozen_at_start():
                first = self.run(plan)
            raise VerificationError(
                self.workflow.name,
                plan,
                problems,
                self.report(plan, first, problems, extra=f"hash_seeds=({found[0].seed},)"),
            )

    @contextlib.contextmanager
    def frozen_at_start(self) -> Iterator[None]:
        with FrozenTime(parse_start(self.start)) as frozen:
            self.frozen = frozen
            yield

    def evaluate(self, plan: Plan) -> tuple[PlanRun, list[str]]:
        """Run ``plan`` (and its crash-free twin); the problems found, if any."""
        first = self.run(plan)
        problems = list(first.problems)
        if first.crashes and not problems:
            # The twin lives through the same delays the crashes cost, without dying, so a
            # workflow that rightly depends on ctx.now() compares fairly.
            pauses = [
                CrashPoint(
                    c.kind, c.target, by_seq=c.by_seq, pause=True, downtime=c.actual_delay or 0.0
                )
                for c in first.ctx.faults.crashes
                if c.fired
            ]
            twin = self.run(plan.crash_free, pauses)
            problems += [f"without crashes: {p}" for p in twin.problems]
            if not twin.problems and twin.outcome != first.outcome:
                problems.append(
                    f"with crashes the run ended {_outcome(first.outcome)}, but the same plan "
                    f"without crashes ends {_outcome(twin.outcome)}"
                )
        if not problems:
            self.ops_seen = max(self.ops_seen, _body_ops(first.ctx))
            if first.ctx.replayed is not None:
                self.compensable_seen = max(
                    self.compensable_seen, len(first.ctx.replayed.compensable)
                )
        return first, problems

    # -- one plan ---------------------------------------------------------------------------------
    def run(self, plan: Plan, pauses: Sequence[CrashPoint] = ()) -> PlanRun:
        if self.setup is not None:
            self.setup()
        ctx = TestWorkflowContext(start=self.start, frozen=self.frozen)
        for target, value in self.mocks.items():
            if callable(value) and not isinstance(value, type):
                ctx.mock(target, side_effect=value)
            else:
                ctx.mock(target, returns=value)
        plan.apply(ctx)
        ctx.faults.crashes.extend(pauses)
        done = PlanRun(plan=plan, ctx=ctx, outcome=("", None))
        try:
            done.outcome = self._run_with_resumes(ctx, done)
        except WorkflowStuck as stuck:
            done.problems.append(f"the run never ended: it is stuck {stuck.waiting_for}")
            return done
        except NonDeterminismError as diverged:
            done.problems.append(f"replaying the run's final history diverged: {diverged.message}")
            return done
        except SimulatedCrash:
            done.problems.append(f"the run crashed more than {_MAX_RESUMES} times in a row")
            return done
        self._check_replay_stability(ctx, done)
        self._check_programming_error(ctx, done)
        self._check_compensations(ctx, done)
        self._check_idempotency(ctx, done)
        self._check_invariant(ctx, done)
        return done

    def _run_with_resumes(self, ctx: TestWorkflowContext, done: PlanRun) -> tuple[str, Any]:
        try:
            try:
                ctx.run(self.workflow, *self.args, **self.kwargs)
            except SimulatedCrash:
                self._resume(ctx, done)
        except WorkflowFailed as failed:
            return failed.status, (failed.error or {}).get("type")
        run = ctx.store.get_run(ctx.run_id) if ctx.run_id else None
        return RunStatus.COMPLETED.value, run.result if run else None

    def _resume(self, ctx: TestWorkflowContext, done: PlanRun) -> Any:
        while True:
            done.crashes += 1
            if done.crashes > _MAX_RESUMES:
                raise SimulatedCrash("too many")
            point = ctx.faults.last_fired
            try:
                return ctx.resume(point.downtime if point is not None else 0.0)
            except SimulatedCrash:
                continue

    # -- the properties ---------------------------------------------------------------------------
    def _check_compensations(self, ctx: TestWorkflowContext, done: PlanRun) -> None:
        ops = ctx.store.operations(ctx.run_id) if ctx.run_id else []
        by_seq = {op.seq: op for op in ops}
        comps = [
            op
            for op in ops
            if op.kind == OpKind.COMPENSATION
            and op.status in (OpStatus.COMPLETED, OpStatus.SKIPPED)
        ]
        undone = [c.compensates for c in comps if c.compensates is not None]
        status = ctx.status
        if status == RunStatus.COMPLETED and comps:
            done.problems.append(
                f"the run COMPLETED but compensations ran for {_names(by_seq, undone)}"
            )
        for c in comps:
            step = by_seq.get(c.compensates or -1)
            if step is None or step.status != OpStatus.COMPLETED:
                done.problems.append(
                    f"compensation {c.name!r} ({seq_label(c.seq)}) ran for a step that "
                    "did not complete"
                )
        finished = [by_seq[s].finished_at for s in undone if s in by_seq]
        if any(a is not None and b is not None and a < b for a, b in zip(finished, finished[1:])):
            done.problems.append(
                f"compensations ran as {_names(by_seq, undone)}, not in reverse order of completion"
            )
        if status in (RunStatus.COMPENSATED, RunStatus.CANCELLED) and ctx.replayed is not None:
            expected = set(ctx.replayed.compensable)
            if set(undone) != expected:
                missing = sorted(expected - set(undone))
                extra = sorted(set(undone) - expected)
                if missing:
                    done.problems.append(
                        "completed steps were not compensated: " + _names(by_seq, missing)
                    )
                if extra:
                    done.problems.append(
                        "compensations ran for steps that have none: " + _names(by_seq, extra)
                    )

    def _check_replay_stability(self, ctx: TestWorkflowContext, done: PlanRun) -> None:
        """Replay the final history a year later and under other global randomness.

        A deterministic body does not care; one that branches on ``datetime.now()`` or the
        ``random`` module takes another path and diverges, without needing the one crash and
        downtime that would expose it in production.
        """
        import random

        if ctx.run_id is None or self.frozen is None:
            return
        history = ctx.history
        state = random.getstate()
        later = ctx.now() + timedelta(days=400)
        try:
            for seed in (1, 2):
                self.frozen.move_to(later)
                random.seed(seed)
                # the code that ran last (verify_upgrade: the new code, once it took over)
                replay(history, ctx.workflow or self.workflow)
        except NonDeterminismError as diverged:
            done.problems.append(
                "replaying this run's history a year later, or under other global "
                f"randomness, diverged: {diverged.message} (the workflow reads the wall clock "
                "or the random module: use ctx.now() / ctx.random())"
            )
        finally:
            random.setstate(state)
            self.frozen.move_to(ctx.now())

    def _check_programming_error(self, ctx: TestWorkflowContext, done: PlanRun) -> None:
        """A TypeError raised by the workflow's own code is a bug on that path, not a
        business outcome (a step's failure carries ``from_step`` and is not flagged)."""
        run = ctx.store.get_run(ctx.run_id) if ctx.run_id else None
        data = error_data(run.error) if run is not None else {}
        data = data.get("original", data) if data.get("during") else data
        if (
            data.get("type") in PROGRAMMING_ERRORS
            and not data.get("from_step")
            and data.get("module") == "builtins"
        ):
            raised = ctx.faults.body_errors.get(ctx.run_id or "")
            where = (
                f" at {raised.where}"
                if raised is not None and raised.where and raised.error == data["type"]
                else ""
            )
            done.problems.append(
                f"the workflow code raised {data['type']}: "
                f"{data.get('message')}{where} (a bug on this path)"
            )

    def _check_idempotency(self, ctx: TestWorkflowContext, done: PlanRun) -> None:
        if not self.require_idempotent:
            return
        counts = Counter((a.seq, a.attempt) for a in ctx.faults.call_log if a.kind == "step")
        flagged = sorted(
            {
                a.name
                for a in ctx.faults.call_log
                if a.kind == "step" and counts[(a.seq, a.attempt)] > 1 and not a.idempotent
            }
        )
        for name in flagged:
            done.problems.append(
                f"step {name!r} ran twice in a crash window but is not marked "
                "idempotent (@step(idempotent=True) once it is safe to repeat)"
            )

    def _check_invariant(self, ctx: TestWorkflowContext, done: PlanRun) -> None:
        if self.invariant is None:
            return
        try:
            held = self.invariant(ctx)
        except AssertionError as exc:
            done.problems.append(
                f"the invariant failed: {exc}" if str(exc) else "the invariant failed (an assert)"
            )
            return
        except Exception as exc:
            done.problems.append(f"the invariant raised {type(exc).__name__}: {exc}")
            return
        if held is False:
            done.problems.append("the invariant returned False")

    # -- the report -------------------------------------------------------------------------------
    def report(self, plan: Plan, first: PlanRun, problems: list[str], extra: str = "") -> str:
        ctx = first.ctx
        lines = [f"verify({self.workflow.name}) found a problem. The smallest plan:"]
        lines += [f"  - {line}" for line in plan.describe()]
        lines.append("Timeline (virtual time since start):")
        lines += [f"  {line}" for line in timeline(ctx)]
        lines.append("Problems:")
        lines += [f"  - {p}" for p in problems]
        lines.append("A regression test for it (add your mocks/setup/invariant arguments):")
        lines += [""] + [
            f"    {line}" if line else ""
            for line in regression_snippet(self.workflow, self.args, self.kwargs, plan, extra)
        ]
        return "\n".join(lines)


def _body_ops(ctx: TestWorkflowContext) -> int:
    if ctx.run_id is None:
        return 0
    return sum(1 for op in ctx.store.operations(ctx.run_id) if op.kind != OpKind.COMPENSATION)


def _names(by_seq: Mapping[int, Any], seqs: Sequence[int]) -> str:
    return (
        ", ".join(
            f"{by_seq[s].name} ({seq_label(s)})"
            if s in by_seq
            else seq_label(s)
            if s is not None
            else "#?"
            for s in seqs
        )
        or "nothing"
    )


def _outcome(outcome: tuple[str, Any]) -> str:
    status, detail = outcome
    return f"{status} ({detail})" if detail is not None else status
