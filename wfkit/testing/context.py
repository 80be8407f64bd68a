"""``TestWorkflowContext``: run a workflow in-process on virtual time, with mocks and crashes.

It drives the real engine core (the same activations, checkpoints and compensation code as
production) on an in-memory store and a virtual clock. Sleeps, retry delays and event timeouts
skip virtual time instantly; a crash point raises :class:`SimulatedCrash` out of ``run()``,
leaving the store as a killed process would; ``resume()`` starts a new "process" on the same
store that replays the checkpoints. Every finished run replays its own history against the code
(auto-replay), so any test catches replay divergence for free.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from wfkit.engine.core.failures import error_data, rebuild_error
from wfkit.engine.definitions import StepDef, WorkflowDef
from wfkit.engine.engine import Engine
from wfkit.engine.history import History, ReplayResult, replay
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, RunRecord
from wfkit.engine.store.memory import MemoryStore
from wfkit.errors import DefinitionError, NonDeterminismError, UsageError
from wfkit.testing.errors import (
    HashOrderError,
    SimulatedCrash,
    UnusedEvent,
    UnusedFault,
    WorkflowFailed,
    WorkflowStuck,
)
from wfkit.testing.faults import (
    _MISSING,
    CrashPoint,
    Failures,
    FaultPlan,
    build_mock,
    step_key,
)
from wfkit.testing.interactive import Interactive
from wfkit.testing.lookups import Lookups
from wfkit.testing.virtual_time import FollowedClock, FrozenTime, parse_start

DEFAULT_RUN_ID = "test-run"  # for a workflow without a workflow_id= template
_WRITTEN: set[Path] = set()  # history files this process wrote (history_dir=)
_MAX_IDLE_ROUNDS = 10_000  # activations in a row that move no virtual time: a livelock
# Virtual time jumps (retry delays, pauses) must never expire a live process's lease: only
# resume() ends leases, for the process that crashed.
_NO_EXPIRY = 10.0**9


class TestWorkflowContext(Lookups, Interactive):
    """One workflow run under test (see docs/testing.md)."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        start: str | datetime | None = None,
        *,
        auto_replay: bool = True,
        freeze_time: bool = True,
        seed: int = 0,
        history_dir: str | Path | None = None,
        frozen: FrozenTime | None = None,
    ) -> None:
        self.clock = FollowedClock(parse_start(start))
        self.store = MemoryStore()
        self.faults = FaultPlan(clock=self.clock)
        self.auto_replay = auto_replay
        self._freeze = freeze_time
        self._frozen = frozen
        self._seed = seed
        self._history_dir = Path(history_dir) if history_dir is not None else None
        self._scheduled: list[tuple[datetime, int, str, Any]] = []
        self._history_path: Path | None = None
        self._checked = False  # the end-of-run checks ran
        self._child_mocks: dict[str, WorkflowDef[Any]] = {}  # child name -> stand-in
        self.history_marks: list[int] = []  # history entries written before each resume
        self._sent_events: list[str] = []  # names that some wait must be for (UnusedEvent)
        self._processes = 0
        self._engine: Engine | None = None
        self.workflow: WorkflowDef[Any] | None = None
        self.run_id: str | None = None
        self.replayed: ReplayResult | None = None  # what the auto-replay found
        self._crashed_at = self.clock.now()

    # -- arranging -------------------------------------------------------------------------------
    def mock(
        self,
        step: Any,
        *,
        returns: Any = _MISSING,
        raises: BaseException | type[BaseException] | None = None,
        side_effect: Any = None,
    ) -> None:
        """Replace a step's effect: ``returns`` a value, ``raises`` on every attempt, or a
        ``side_effect`` list with one outcome per attempt (the last repeats) or a callable."""
        mock = build_mock(returns, raises, side_effect)
        if isinstance(step, WorkflowDef):  # a child workflow: a stand-in body answers
            from wfkit.testing.children import child_stand_in

            self._child_mocks[step.name] = child_stand_in(step, mock, self.faults)
            if self._engine is not None:
                self._engine.register(self._child_mocks[step.name])
            return
        key = step_key(step)
        # A @step is mocked by its function, so the mock applies under any name= the workflow
        # gives the call; a mock by name is looked up first, so it overrides that one call.
        self.faults.mocks[step.fn if isinstance(step, StepDef) else key] = mock

    def send_event(
        self,
        name: str,
        payload: Any = None,
        *,
        after: timedelta | float | None = None,
        allow_unused: bool = False,
    ) -> None:
        """Deliver event ``name`` at virtual time ``start + after`` (default: right away).

        When the run ends, an event whose name no wait of the run was for raises
        :class:`UnusedEvent` (a misspelt name tests the timeout path only), unless
        ``allow_unused``."""
        from wfkit.engine.core.waits import to_seconds

        if not allow_unused:
            self._sent_events.append(name)
        seconds = 0.0 if after is None else to_seconds(after, "send_event after")
        at = (
            self.clock.now() + timedelta(seconds=seconds)
            if self.run_id is not None
            else self._start_time() + timedelta(seconds=seconds)
        )
        self._scheduled.append((at, len(self._scheduled), name, payload))
        self._scheduled.sort(key=lambda item: (item[0], item[1]))

    def fail(self, step: Any, *, times: int | None = 1) -> None:
        """Inject a failure into the step's first ``times`` attempts (None: every attempt);
        later attempts run the step (or its mock) as usual."""
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise DefinitionError(f"fail(times=...) needs a count >= 1 or None, got {times!r}")
        plan = Failures(times, label=f"fail({_describe_step(step)})")
        fn = _step_fn(step)
        if fn is not None:
            self.faults.fail_by_fn[fn] = plan
        else:
            self.faults.fail_by_name[_step_name(step)] = plan

    def crash_before(self, step: Any) -> None:
        """The process dies as the step's attempt starts, before its effect."""
        self.faults.crashes.append(CrashPoint("before", _step_name(step), _step_fn(step)))

    def crash_after(self, step: Any) -> None:
        """The process dies after the step's effect, before its checkpoint is written."""
        self.faults.crashes.append(CrashPoint("after", _step_name(step), _step_fn(step)))

    def crash_after_checkpoint(self, step: Any) -> None:
        """The process dies right after the step's result was committed."""
        self.faults.crashes.append(CrashPoint("after_checkpoint", _step_name(step), _step_fn(step)))

    def crash_during_compensation(self, step: Any) -> None:
        """The process dies after the compensation of ``step`` ran, before its checkpoint."""
        if isinstance(step, StepDef):  # its compensation, under any name= of the call
            self.faults.crashes.append(CrashPoint("compensation", step.name, step.compensate))
        else:
            self.faults.crashes.append(CrashPoint("compensation", step))

    def crash_at(self, n: int) -> None:
        """The process dies as durable operation number ``n`` (1-based) is about to execute."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise DefinitionError(f"crash_at needs an operation number >= 1, got {n!r}")
        self.faults.crashes.append(CrashPoint("at", n))

    # -- acting ----------------------------------------------------------------------------------
    def run(
        self, workflow: WorkflowDef[Any], *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> Any:
        """Run the workflow to its end; return its result or raise :class:`WorkflowFailed`."""
        __tracebackhide__ = True
        self._begin(workflow, args, kwargs, workflow_id)
        return self.finish()

    def _begin(
        self,
        workflow: WorkflowDef[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        workflow_id: str | None,
    ) -> None:
        """Create the run (run() and start())."""
        if not isinstance(workflow, WorkflowDef):
            raise DefinitionError(f"run() needs a @workflow, got {type(workflow).__name__}")
        if self.run_id is not None:
            raise UsageError(
                "this TestWorkflowContext already ran a workflow",
                hint="use resume() after a crash, or a new TestWorkflowContext",
            )
        self.workflow = workflow
        engine = self._new_process()
        with self._virtual_time():
            if workflow_id is None and workflow.run_id_template is None:
                workflow_id = DEFAULT_RUN_ID  # else the workflow's workflow_id= names it
            handle = engine.start(workflow, *args, workflow_id=workflow_id, **kwargs)
            self.run_id = handle.id

    def resume(self, downtime: timedelta | float = 0.0) -> Any:
        """A new process takes over after ``downtime`` and replays the checkpoints."""
        __tracebackhide__ = True
        from wfkit.engine.core.waits import to_seconds

        if self.run_id is None:
            raise UsageError("resume() before run()", hint="call run() first")
        self._crashed_at = self.clock.now()
        self.clock.advance(to_seconds(downtime, "downtime"))
        expired = self.clock.now() - timedelta(microseconds=1)
        for held in self.store.list_runs():
            if held.lease_owner is not None:
                # The dead process's leases have run out (their expiry is part of the
                # downtime): the new process takes its runs over, counting a recovery.
                self.store.commit(held.id, Checkpoint(run={"lease_expires_at": expired}))
        if self.faults.last_fired is not None:
            self.faults.last_fired.actual_delay = (
                self.clock.now() - self._crashed_at
            ).total_seconds()
        # Lines the new process writes come after the dead one's, even in the same instant.
        self.faults.process += 1
        self.history_marks.append(len(self.store.history(self.run_id)))
        self.faults.note(f"resumed by a new process after {self._downtime_text()} down", 0)
        engine = self._new_process()
        with self._virtual_time():
            engine.wake_orphaned_parents()
            self._drive_to_end()
            return self._finish()

    # -- looking ---------------------------------------------------------------------------------
    @property
    def status(self) -> RunStatus | None:
        run = self._run_record()
        return run.status if run else None

    @property
    def result(self) -> Any:
        run = self._run_record()
        if run is None or run.status != RunStatus.COMPLETED:
            return None
        assert self._engine is not None
        return self._engine._outcome(run)

    @property
    def error(self) -> BaseException | None:
        run = self._run_record()
        if run is None or not run.error:
            return None
        data = error_data(run.error)
        return rebuild_error(run.error, str(data.get("during") or run.workflow))

    @property
    def history(self) -> History:
        if self.run_id is None:
            raise UsageError("no history before run()", hint="call run() first")
        return History.from_store(self.store, self.run_id)

    @property
    def compensations(self) -> list[str]:
        """Steps whose compensation completed, in the order they ran (newest step first)."""
        return [
            op.name
            for op in self._ops()
            if op.kind == OpKind.COMPENSATION and op.status == OpStatus.COMPLETED
        ]

    def now(self) -> datetime:
        return self.clock.now()

    def check_hash_order(self, seeds: Sequence[int] | None = None) -> None:
        """Replay this run's history in fresh interpreters under other ``PYTHONHASHSEED``
        values (default: 1 and 2); raise :class:`HashOrderError` if it diverges, which means
        the workflow orders its operations by iterating a set. About one interpreter start
        per seed (see docs/testing.md)."""
        __tracebackhide__ = True
        from wfkit.testing.hashseed import DEFAULT_SEEDS, replay_under_seeds, step_calls

        if self.run_id is None or self.workflow is None:
            raise UsageError("check_hash_order() before run()", hint="call run() first")
        for found in replay_under_seeds(
            self.workflow,
            [self.history.to_json()],
            DEFAULT_SEEDS if seeds is None else seeds,
            [step_calls(self)],
        ):
            raise HashOrderError(self.run_id, found.seed, found.message)

    # -- the loop --------------------------------------------------------------------------------
    def _drive_to_end(self) -> None:
        """Drive the run; a simulated crash surfaces without the engine's frames under it
        (where it fired is in its message and in the timeline, not in wfkit's stack)."""
        __tracebackhide__ = True
        try:
            self._drive()
        except SimulatedCrash as crash:
            raise crash.with_traceback(None) from None

    def _drive(self) -> None:
        self._drive_until(None)

    def _drive_until(self, until: datetime | None) -> bool:
        """Drive the run, moving virtual time to each next wake-up, up to ``until`` (None: to
        the end); True when the run ended."""
        assert self._engine is not None and self.run_id is not None
        idle = 0
        while True:
            run = self._run_record()
            assert run is not None
            if run.status.terminal:
                return True
            self._deliver_due()
            if self._engine.work_once():
                idle += 1
                if idle > _MAX_IDLE_ROUNDS:
                    raise WorkflowStuck(
                        self.run_id,
                        f"after {idle} activations that never let virtual time move (a livelock)",
                    )
                continue
            wake = self._next_wake()
            if until is not None and (wake is None or wake > until):
                if until > self.clock.now():
                    self.clock.set(until)
                    self._deliver_due()
                    continue  # events due exactly now may move the run
                return False
            if wake is None:
                raise WorkflowStuck(self.run_id, self._describe_wait(run))
            idle = 0
            self.clock.set(wake)

    def _next_wake(self) -> datetime | None:
        candidates = [
            w
            for w in (self.store.next_wake(), self._scheduled[0][0] if self._scheduled else None)
            if w
        ]
        return min(candidates) if candidates else None

    def _deliver_due(self) -> None:
        assert self._engine is not None and self.run_id is not None
        now = self.clock.now()
        while self._scheduled and self._scheduled[0][0] <= now:
            _, _, name, payload = self._scheduled.pop(0)
            run = self._run_record()
            if run is not None and not run.status.terminal:
                self._engine.send_event(self.run_id, name, payload)

    def _check_faults_used(self) -> None:
        """A crash or failure the test set up that never happened means the test did not test
        what it says (most often: the workflow renames the step with ``name=``, or the step is
        never reached): that fails the test, naming what did run."""
        __tracebackhide__ = True
        missed = [
            f"the crash {p.describe()}"
            for p in self.faults.crashes
            if not (p.fired or p.by_seq or p.pause)
        ]
        missed += [
            f"{plan.label} (no attempt failed)"
            for plan in [*self.faults.fail_by_name.values(), *self.faults.fail_by_fn.values()]
            if not plan.used
        ]
        if missed:
            ran = list(dict.fromkeys(a.name for a in self.faults.call_log if a.kind == "step"))
            raise UnusedFault(self.run_id or "?", missed, ran)

    def waited_events(self) -> list[str]:
        """The names of the events the run waited for (received or timed out), sorted."""
        return sorted({op.name for op in self._ops() if op.kind == OpKind.EVENT})

    def _check_events_used(self) -> None:
        __tracebackhide__ = True
        waited = self.waited_events()
        unused = sorted(set(self._sent_events) - set(waited))
        if unused:
            raise UnusedEvent(self.run_id or "?", unused, waited)

    def _describe_wait(self, run: RunRecord) -> str:
        for op in reversed(self.store.operations(run.id)):
            if op.status != OpStatus.STARTED:
                continue
            if op.kind == OpKind.EVENT:
                return (
                    f"waiting for event {op.name!r} with no timeout, and no such event is scheduled"
                )
            if op.kind == OpKind.CHILD:
                child = self.store.get_run(json.loads(op.result or "null"))
                if child is not None and not child.status.terminal:
                    return (
                        f"waiting for child workflow {child.id!r}, which is stuck "
                        + self._describe_wait(child)
                    )
        return f"in status {run.status.value} with nothing scheduled to move it"

    def _finish(self) -> Any:
        __tracebackhide__ = True
        run = self._end_checks()
        if run.status == RunStatus.COMPLETED:
            return self.result
        raise WorkflowFailed(
            run.id,
            run.status.value,
            self.error,
            error_data(run.error) or None,
            where=self._raised_where(run),
        )

    def _end_checks(self) -> RunRecord:
        """Once per run that ended: unused faults and events, auto-replay, history file."""
        __tracebackhide__ = True
        run = self._run_record()
        assert run is not None and self.workflow is not None
        if self._checked:
            return run
        self._checked = True
        self._check_faults_used()
        self._check_events_used()
        if self.auto_replay:
            try:
                self.replayed = replay(
                    self.history,
                    self.workflow,
                    codec=self._engine.rt.codec if self._engine else None,
                )
            except NonDeterminismError as diverged:  # its message says where; wfkit's
                raise diverged.with_traceback(None) from None  # frames would not

        if self._history_dir is not None:
            self._write_history(self._history_dir, f"{self.workflow.name}-{run.id}")
        return run

    def _raised_where(self, run: RunRecord) -> str | None:
        """file:line of the code whose exception ended the run, when the harness saw it."""
        data = error_data(run.error)
        data = data.get("original", data) if data.get("during") else data
        step = data.get("from_step")
        if step is None:
            raised = self.faults.body_errors.get(run.id)
            return raised.where if raised is not None and raised.error == data.get("type") else None
        for raised in reversed(self.faults.raised):
            if raised.name == step and raised.error == data.get("type"):
                return raised.where
        return None

    def _write_history(self, directory: Path, stem: str) -> None:
        """``<workflow>-<run id>.json``, made unique among the files this process writes (two
        contexts running the same workflow under the same id each keep theirs); a file left by
        an earlier session is overwritten, so re-running the tests does not pile them up."""
        if self._history_path is None:
            directory.mkdir(parents=True, exist_ok=True)
            stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
            path, n = directory / f"{stem}.json", 1
            while path.resolve() in _WRITTEN:
                n += 1
                path = directory / f"{stem}-{n}.json"
            _WRITTEN.add(path.resolve())
            self._history_path = path
        self._history_path.write_text(self.history.to_json(), encoding="utf-8")

    # -- plumbing --------------------------------------------------------------------------------
    def _new_process(self) -> Engine:
        self._processes += 1
        engine = Engine(
            self.store,
            clock=self.clock,
            owner=f"test-process-{self._processes}",
            interceptor=self.faults,
            rng=random.Random(self._seed),
            lease_seconds=_NO_EXPIRY,
            child_poll=_NO_EXPIRY,
        )
        if self._child_mocks:  # before anything registers the real children
            engine.register(*self._child_mocks.values())
        if self.workflow is not None:
            engine.register(self.workflow)
        if self._engine is not None:
            engine.register(*self._engine.workflows.values())
        self._engine = engine
        return engine

    @contextlib.contextmanager
    def _virtual_time(self) -> Iterator[None]:
        if self._frozen is not None:  # shared with the caller (verify): just follow it
            self.clock.frozen = self._frozen
            self._frozen.move_to(self.clock.now())
            yield
            return
        with FrozenTime(self.clock.now(), enabled=self._freeze) as frozen:
            self.clock.frozen = frozen
            try:
                yield
            finally:
                self.clock.frozen = None

    def _downtime_text(self) -> str:
        return format_duration((self.clock.now() - self._crashed_at).total_seconds())

    def _start_time(self) -> datetime:
        return self.clock.now()

    def _run_record(self) -> RunRecord | None:
        return self.store.get_run(self.run_id) if self.run_id is not None else None

    def _ops(self) -> list[Any]:
        return self.store.operations(self.run_id) if self.run_id is not None else []

    def __repr__(self) -> str:
        return f"<TestWorkflowContext {self.run_id or 'not started'} at {self.now()}>"


def _step_fn(step: Any) -> Any:
    """The function behind a step given as a ``@step`` or a callable (None for a name)."""
    if isinstance(step, StepDef):
        return step.fn
    return None if isinstance(step, str) else step


def _describe_step(step: Any) -> str:
    return repr(step) if isinstance(step, str) else _step_name(step)


def _step_name(step: Any) -> str:
    if isinstance(step, str):
        return step
    if isinstance(step, StepDef):
        return step.name
    name = getattr(step, "__name__", None)
    if not isinstance(name, str) or not name:
        raise DefinitionError(f"expected a step or a step name, got {step!r}")
    return name


def format_duration(seconds: float) -> str:
    """1d 2h, 5m 3s, 0s: short and readable, for timelines."""
    seconds = int(round(seconds))
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])
