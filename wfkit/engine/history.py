"""A run's history as a portable document, and replaying it against current code.

The same JSON comes out of ``wfkit export``, ``TestWorkflowContext.history.to_json()`` and
goes into ``wfkit replay`` / :func:`replay`: a header describing the run, then the append-only
log. Operation entries carry full snapshots, so folding the log gives back every operation
record: no database is needed to check that today's code still replays yesterday's runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wfkit.engine.core.history_entries import op_from_snapshot
from wfkit.engine.history_checks import check_history, check_raw_entry
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import HistoryEntry, OperationRecord, RunRecord, Store
from wfkit.errors import DamagedHistory, UsageError

FORMAT = "wfkit-history"
FORMAT_VERSION = 1


@dataclass
class History:
    run: RunRecord
    entries: list[HistoryEntry] = field(default_factory=list)

    @classmethod
    def from_store(cls, store: Store, run_id: str) -> History:
        from wfkit.engine.ids import check_id
        from wfkit.errors import RunNotFound

        run = store.get_run(check_id(run_id))
        if run is None:
            raise RunNotFound(run_id)
        return cls(run=run, entries=store.history(run_id))

    # -- the document ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        r = self.run
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "run": {
                "id": r.id,
                "workflow": r.workflow,
                "workflow_version": r.version,
                "status": r.status.value,
                "input": json.loads(r.input),
                "seed": r.seed,
                "created_at": r.created_at.isoformat(),
                "finished_at": _iso(r.finished_at),
                "result": json.loads(r.result) if r.result is not None else None,
                "has_result": r.result is not None,
                "error": json.loads(r.error) if r.error else None,
                "parent_id": r.parent_id,
                "parent_seq": r.parent_seq,
            },
            "events": [
                {
                    "index": e.index,
                    "at": e.at.isoformat(),
                    "type": e.type,
                    "seq": e.seq,
                    "name": e.name,
                    "data": e.data,
                }
                for e in self.entries
            ],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "history") -> History:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise UsageError(
                f"{source} is not JSON: {exc}",
                hint="pass a file written by `wfkit export ID > history.json`",
            ) from None
        return cls.from_dict(doc, source=source)

    @classmethod
    def from_dict(cls, doc: Any, *, source: str = "history") -> History:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise UsageError(
                f"{source} is not a wfkit history document",
                hint="pass a file written by `wfkit export ID > history.json`",
            )
        if doc.get("version") != FORMAT_VERSION:
            raise UsageError(
                f"{source} has history format version {doc.get('version')!r}; "
                f"this wfkit reads version {FORMAT_VERSION}",
                hint="export it again with this wfkit, or upgrade wfkit",
            )
        try:
            r = doc["run"]
            if not isinstance(doc["events"], list):
                raise TypeError("events is not a list")
            for position, raw in enumerate(doc["events"]):
                check_raw_entry(position, raw, source)
            run = RunRecord(
                id=r["id"],
                workflow=r["workflow"],
                version=int(r.get("workflow_version", 1)),
                status=RunStatus(r["status"]),
                input=json.dumps(r["input"]),
                seed=int(r["seed"]),
                created_at=datetime.fromisoformat(r["created_at"]),
                updated_at=datetime.fromisoformat(r["created_at"]),
                finished_at=_dt(r.get("finished_at")),
                result=json.dumps(r.get("result")) if r.get("has_result") else None,
                error=json.dumps(r["error"]) if r.get("error") else None,
                parent_id=r.get("parent_id"),
                parent_seq=r.get("parent_seq"),
            )
            entries = [
                HistoryEntry(
                    run_id=run.id,
                    at=datetime.fromisoformat(e["at"]),
                    type=e["type"],
                    seq=e.get("seq"),
                    name=e.get("name"),
                    data=dict(e.get("data") or {}),
                    index=e["index"],
                )
                for e in doc["events"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedHistory(source, f"{type(exc).__name__}: {exc}") from None
        history = cls(run=run, entries=entries)
        check_history(history, source)
        return history

    # -- folding --------------------------------------------------------------------------------
    def operations(self) -> list[OperationRecord]:
        """The latest snapshot of every operation, by sequence number."""
        ops: dict[int, OperationRecord] = {}
        for entry in self.entries:
            if entry.seq is not None and "kind" in entry.data:
                ops[entry.seq] = op_from_snapshot(
                    self.run.id, entry.seq, entry.name or "", entry.data
                )
            for seq in entry.data.get("discarded") or ():  # `wfkit retry` / `skip-step`
                ops.pop(seq, None)
        return [ops[s] for s in sorted(ops)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass
class ReplayResult:
    """What replaying a history against current code found (it raised if it diverged)."""

    run_id: str
    workflow: str
    operations_replayed: int
    reached_end: bool  # the body returned or raised, rather than stopping at the
    # first operation the history had not recorded yet
    compensable: list[int] = field(default_factory=list)  # completed steps that have a
    # compensation (by seq), as the replayed code registers them


def replay(
    history: History, workflow: Any, *, strict_result: bool = True, codec: Any = None
) -> ReplayResult:
    """Re-run ``workflow``'s body against ``history``; raise NonDeterminismError on divergence.

    Nothing executes: recorded operations return their recorded results, and the replay stops
    at the first operation the history does not have (a run that was still in flight). A
    document read with :meth:`History.from_json` has been checked whole already
    (:mod:`wfkit.engine.history_checks`); a COMPLETED run whose code now asks for an operation it
    did not record diverged, it is not "in flight".
    """
    import random

    from wfkit.engine.clock import ManualClock
    from wfkit.engine.codec import JsonCodec
    from wfkit.engine.context import Context
    from wfkit.engine.core.activation import Activation
    from wfkit.engine.core.runner import call_body, leftover_operation
    from wfkit.engine.core.runtime import Runtime
    from wfkit.engine.core.starting import decode_input
    from wfkit.engine.core.unwinding import Frontier, Suspend
    from wfkit.engine.definitions import WorkflowDef, current_activation
    from wfkit.engine.store.memory import MemoryStore
    from wfkit.errors import DefinitionError, NonDeterminismError, RecordedValueError

    if not isinstance(workflow, WorkflowDef):
        raise DefinitionError(f"replay needs a @workflow, got {type(workflow).__name__}")
    if workflow.name != history.run.workflow:
        raise UsageError(
            f"the history is of workflow {history.run.workflow!r}, not {workflow.name!r}",
            hint="pass the workflow the run was started with",
        )
    ops = history.operations()
    store = MemoryStore()
    store.create_run(history.run, [])
    rt = Runtime(
        store=store,
        clock=ManualClock(history.run.created_at),
        owner="replay",
        workflows={workflow.name: workflow},
        codec=codec or JsonCodec(),
        rng=random.Random(0),
    )
    act = Activation(
        rt,
        history.run,
        workflow,
        lease_owner=None,
        make_context=Context,
        operations=ops,
        replay_only=True,
    )
    act.history_replay = True  # compare what the live engine keeps (parked durations)
    token = current_activation.set(act)
    reached_end = True
    try:
        args, kwargs = decode_input(rt, workflow, history.run.input)
        try:
            result = call_body(act, args, kwargs)
        except (Frontier, Suspend) as stopped:
            reached_end = False
            if history.run.status == RunStatus.COMPLETED and strict_result:
                position = stopped.seq if isinstance(stopped, Frontier) else act.seq
                raise NonDeterminismError(
                    position=position,
                    recorded="the workflow completing",
                    current=f"operation #{position}, which the completed run never did "
                    "(or the history lost it)",
                    run_id=history.run.id,
                ) from None
        except NonDeterminismError:
            raise
        except RecordedValueError as exc:
            # Not the body's fault: the value in the file does not decode to today's type.
            exc.hint = (
                "the history was edited or damaged: export it again; or the step's "
                "return annotation changed under recorded runs: keep it able to "
                "decode what they recorded"
            )
            raise
        except Exception as exc:
            if history.run.status == RunStatus.COMPLETED and strict_result:
                raise NonDeterminismError(
                    position=act.seq,
                    recorded="the workflow completing",
                    current=f"the workflow raising {type(exc).__name__}: {exc}",
                    run_id=history.run.id,
                ) from exc
        else:
            leftover = leftover_operation(act)
            if leftover is not None:
                raise NonDeterminismError(
                    position=leftover.seq,
                    recorded=f"{leftover.kind} {leftover.name!r}",
                    current="the workflow returning",
                    source=leftover.source,
                    run_id=history.run.id,
                    diff=act.divergence(leftover.seq, "(the workflow returned)"),
                )
            if strict_result and history.run.status == RunStatus.COMPLETED:
                _check_result(act, history, result)
    finally:
        current_activation.reset(token)
    # Stopped at the frontier, the last number taken is the operation the history lacks.
    replayed = act.seq if reached_end else max(act.seq - 1, 0)
    return ReplayResult(
        history.run.id, workflow.name, replayed, reached_end, sorted(r.seq for r in act.registered)
    )


def _check_result(act: Any, history: History, result: Any) -> None:
    from wfkit.errors import NonDeterminismError

    text = act.rt.codec.encode(result, where=f"result of workflow {history.run.workflow!r}")
    if history.run.result is not None and json.loads(text) != json.loads(history.run.result):
        raise NonDeterminismError(
            position=act.seq + 1,
            recorded=f"result {history.run.result}",
            current=f"result {text}",
            run_id=history.run.id,
        )


def load_histories(paths: Sequence[str]) -> list[tuple[str, History]]:
    out = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(
                f"cannot read history file {path}: {exc.strerror}", hint="check the path"
            ) from None
        out.append((path, History.from_json(data, source=path)))
    return out
