"""``engine.schedules``: fire, list, pause, resume, trigger and backfill an engine's schedules.

The schedules are those of the engine's registered workflows (``@workflow(schedule=...)``);
their state is in the store, so every engine on the store sees the same pauses and ticks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from wfkit.engine.clock import Clock
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.scheduler import ScheduleInfo, fire_due, schedule_infos
from wfkit.engine.schedules import Schedule, due_ticks, tick_id
from wfkit.engine.store.base import Store
from wfkit.errors import UsageError

__all__ = ["Schedules"]


class _Engine(Protocol):
    """What schedules need of the engine (wfkit.engine.engine.Engine, which owns them)."""

    store: Store
    clock: Clock

    @property
    def workflows(self) -> dict[str, WorkflowDef[Any]]: ...

    def start(
        self, workflow: WorkflowDef[Any], *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> Any: ...


class Schedules:
    """The schedules of one engine's registered workflows."""

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine

    def declared(self) -> list[tuple[str, str, Schedule]]:
        """(schedule name, workflow name, schedule) of every registered workflow."""
        return [
            (name, wf.name, spec)
            for wf in self._engine.workflows.values()
            for name, spec in wf.schedules
        ]

    def fire(self) -> list[str]:
        """Start the runs whose ticks are due now (a worker does this about once a second);
        return their ids. Safe from any number of engines at once: a tick starts one run."""
        return fire_due(
            self._engine.store, self.declared(), self._engine.clock.now(), self._start_tick
        )

    def all(self) -> list[ScheduleInfo]:
        """Every schedule, with its next fire time, by name (and those only the store knows)."""
        return schedule_infos(self._engine.store, self.declared(), self._engine.clock.now())

    def pause(self, name: str) -> None:
        """No tick of the schedule starts a run until :meth:`resume`; ticks due meanwhile are
        handled by its catch-up policy when it resumes. Runs already started go on."""
        self._set_paused(name, True)

    def resume(self, name: str) -> None:
        self._set_paused(name, False)

    def trigger(self, name: str) -> Any:
        """Start a run of the schedule now, as a tick at this moment would (its input)."""
        workflow, spec = self._find(name)
        now = self._engine.clock.now()
        return self._start(workflow, spec, tick_id(name, now))

    def backfill(self, name: str, start: datetime, end: datetime) -> list[str]:
        """Start a run for every tick of the schedule in [start, end] (past ticks a policy
        skipped, say), whatever the overlap policy; ticks that already have their run are
        not started again. Returns the ids of the ticks' runs."""
        workflow, spec = self._find(name)
        for moment, what in ((start, "start"), (end, "end")):
            if not isinstance(moment, datetime) or moment.tzinfo is None:
                raise UsageError(
                    f"backfill {what} must be an aware datetime, got {moment!r}",
                    hint="e.g. 2026-11-01T00:00:00+00:00",
                )
        if end < start:
            raise UsageError(
                f"backfill range ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        ids = []
        for tick in due_ticks(spec, start - timedelta(microseconds=1), end):
            ids.append(self._start(workflow, spec, tick_id(name, tick)).id)
        return ids

    # -- internals ----------------------------------------------------------------------------
    def _find(self, name: str) -> tuple[str, Schedule]:
        for schedule_name, workflow, spec in self.declared():
            if schedule_name == name:
                return workflow, spec
        known = ", ".join(sorted(n for n, _, _ in self.declared())) or "none"
        raise UsageError(
            f"no schedule named {name!r} in the workflows loaded",
            hint=f"schedules: {known}",
        )

    def _set_paused(self, name: str, paused: bool) -> None:
        known = {n: workflow for n, workflow, _ in self.declared()}
        states = {s.name: s.workflow for s in self._engine.store.schedule_states()}
        workflow = known.get(name) or states.get(name)
        if workflow is None:
            self._find(name)  # raises, naming the schedules there are
            return
        self._engine.store.set_schedule_paused(name, workflow, paused, self._engine.clock.now())

    def _start_tick(self, workflow: str, spec: Schedule, tick: datetime, run_id: str) -> None:
        self._start(workflow, spec, run_id)

    def _start(self, workflow: str, spec: Schedule, run_id: str) -> Any:
        wf = self._engine.workflows[workflow]
        return self._engine.start(wf, *spec.args, workflow_id=run_id, **dict(spec.kwargs))
