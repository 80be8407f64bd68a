"""What the API and the pages share: the engine, the workflows the server knows, and the
operations both offer, written once (start, list, look, repair), synchronous, returning plain
data. The HTTP layers only parse requests and render answers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from wfkit.engine.binding import arguments_from_json
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.engine import Engine
from wfkit.engine.history import History
from wfkit.engine.run_json import iso, retried_attempts
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import OperationRecord, RunRecord
from wfkit.web import views
from wfkit.web.problems import HttpProblem

MAX_PAGE = 500
DEFAULT_PAGE = 50
# The dashboard's counts per status may be this old: counting 100,000 runs costs ~20 ms on
# SQLite, and every open runs page asks again every few seconds. A change made through this
# server forgets them at once.
COUNTS_MAX_AGE = 2.0


@dataclass
class RunPage:
    runs: list[RunRecord]
    next_cursor: str | None


@dataclass
class RunDetail:
    run: RunRecord
    operations: list[OperationRecord]
    children: dict[int, str]
    retried: dict[int, list[OperationRecord]]


@dataclass
class Service:
    engine: Engine
    workflows: dict[str, WorkflowDef[Any]] = field(default_factory=dict)
    _counted: dict[str, tuple[float, dict[str, int]]] = field(default_factory=dict)
    _counting: threading.Lock = field(default_factory=threading.Lock)

    def workflow(self, name: str) -> WorkflowDef[Any]:
        wf = self.workflows.get(name)
        if wf is None:
            known = ", ".join(sorted(self.workflows)) or "none"
            raise HttpProblem(
                404, f"no workflow named {name!r} on this server", f"workflows here: {known}"
            )
        return wf

    # -- starting -----------------------------------------------------------------------------
    def start(self, name: str, data: Any, run_id: str | None) -> tuple[RunRecord, bool]:
        """Start a run of workflow ``name`` with the JSON input ``data``; (run, created?).

        Starting an id that exists returns that run (created False), as ``wfkit run --id``
        does, whatever the input; an id taken by another workflow is a conflict.
        """
        wf = self.workflow(name)
        if run_id is not None:
            existing = self.engine.store.get_run(run_id) if run_id else None
            if existing is not None:
                self._same_workflow(existing, wf)
                return existing, False
        args, kwargs = arguments_from_json(wf.fn, data, where=f"input of workflow {wf.name!r}")
        handle = self.engine.start(wf, *args, workflow_id=run_id, **kwargs)
        self._forget_counts()
        run = self.engine.get_run(handle.id)
        if not handle.created:
            self._same_workflow(run, wf)
        return run, handle.created

    @staticmethod
    def _same_workflow(run: RunRecord, wf: WorkflowDef[Any]) -> None:
        if run.workflow != wf.name:
            raise HttpProblem(
                409,
                f"run id {run.id!r} is already used by a {run.workflow!r} run",
                "choose another id",
            )

    # -- looking ------------------------------------------------------------------------------
    def list_runs(
        self,
        *,
        status: str | None,
        workflow: str | None,
        limit: int,
        cursor: str | None,
        queue: str | None = None,
    ) -> RunPage:
        parsed_status = parse_status(status)
        before = None
        if cursor:
            try:
                before = views.decode_cursor(cursor)
            except views.BadCursor:
                raise HttpProblem(
                    400,
                    "invalid cursor",
                    "pass the next_cursor of a previous "
                    "page unchanged, or leave it out for the first page",
                ) from None
        runs = self.engine.list_runs(
            status=parsed_status,
            workflow=workflow or None,
            limit=limit + 1,
            before=before,
            queue=queue or None,
        )
        more = len(runs) > limit
        runs = runs[:limit]
        return RunPage(runs, views.encode_cursor(runs[-1]) if more and runs else None)

    def counts(self, workflow: str | None = None, *, max_age: float = 0.0) -> dict[str, int]:
        """Runs per status (every status listed); with ``max_age``, a count that recent may
        be reused."""
        key = workflow or ""
        if max_age > 0:
            with self._counting:
                known = self._counted.get(key)
            if known is not None and time.monotonic() - known[0] <= max_age:
                return dict(known[1])
        counted = self.engine.count_runs(workflow=workflow or None)
        result = {s.value: counted.get(s, 0) for s in RunStatus}
        with self._counting:
            if len(self._counted) > 1000:
                self._counted.clear()
            self._counted[key] = (time.monotonic(), result)
        return dict(result)

    def detail(self, run_id: str) -> RunDetail:
        run = self.engine.get_run(run_id)
        ops = self.engine.store.operations(run_id)
        children = {
            c.parent_seq: c.id
            for c in self.engine.store.list_runs(parent_id=run_id)
            if c.parent_seq is not None
        }
        retried = retried_attempts(run_id, self.engine.store.history(run_id))
        return RunDetail(run, ops, children, retried)

    def history(self, run_id: str) -> dict[str, Any]:
        self.engine.get_run(run_id)
        return History.from_store(self.engine.store, run_id).to_dict()

    # -- repairing (the CLI's rules: the engine's checks, no driving here) --------------------
    def cancel(self, run_id: str, compensate: bool) -> bool:
        requested = self.engine.cancel(run_id, compensate=compensate, drive=False)
        self._forget_counts()
        return requested

    def retry(self, run_id: str) -> None:
        self.engine.retry(run_id)
        self._forget_counts()

    def pause(self, run_id: str) -> bool:
        return self.engine.pause(run_id)

    def resume(self, run_id: str) -> None:
        self.engine.resume(run_id)

    def pause_workflow(self, name: str) -> bool:
        self.workflow(name)  # one this server runs (a 404 names the others)
        return self.engine.pause_workflow(name)

    def resume_workflow(self, name: str) -> None:
        self.workflow(name)
        if name not in self.engine.paused_workflows():
            raise HttpProblem(409, f"workflow {name!r} is not paused", "pause it first")
        self.engine.resume_workflow(name)

    def workflow_pause(self, name: str) -> dict[str, Any]:
        since = self.engine.paused_workflows().get(name)
        return {"name": name, "paused": since is not None, "paused_at": iso(since)}

    def skip_step(self, run_id: str, step: str, result: Any) -> None:
        self.engine.skip_step(run_id, step, result)
        self._forget_counts()

    def _forget_counts(self) -> None:
        with self._counting:
            self._counted.clear()

    def send_event(self, run_id: str, name: str, payload: Any) -> None:
        self.engine.send_event(run_id, name, payload)


def parse_status(status: str | None) -> RunStatus | None:
    if not status:
        return None
    try:
        return RunStatus(status.upper())
    except ValueError:
        raise HttpProblem(
            400,
            f"unknown status {status!r}",
            "use one of: " + ", ".join(s.value for s in RunStatus),
        ) from None


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_PAGE
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise HttpProblem(
            400, f"invalid limit {text!r}", f"use a whole number from 1 to {MAX_PAGE}"
        )
    return limit


__all__ = ["RunDetail", "RunPage", "Service", "parse_limit", "parse_status"]
