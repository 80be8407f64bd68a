"""``wfkit show ID``: one run, its header and a timeline of every durable operation.

The timeline is the operations table (the latest state of each operation, in sequence
order): what a person repairing a run needs to see — which step failed, after how many
attempts, with what error, and which compensations ran. Under an operation that was retried,
its earlier attempts and their errors (from the run's history), so a step that failed twice
before it succeeded does not look as if nothing had happened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

import click

from wfkit.cli.app import App
from wfkit.cli.engine_options import (
    duration,
    format_option,
    open_engine,
    print_table,
    status_text,
    store_option,
    to_json,
    when,
)
from wfkit.engine.core.history_entries import parsed
from wfkit.engine.core.numbering import seq_label
from wfkit.engine.run_json import iso, operation_json, retried_attempts

if TYPE_CHECKING:
    from wfkit.engine.queues import QueueEntry
    from wfkit.engine.store.base import OperationRecord, RunRecord

JSON_VERSION = 1


class ShowFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class RunView:
    """What `wfkit show` renders: the run, its operations, and its children by sequence."""

    run: RunRecord
    operations: list[OperationRecord]
    children: dict[int, str]
    retried: dict[int, list[OperationRecord]]  # seq -> its failed attempts that were retried
    workflow_paused: bool = False  # `wfkit pause --workflow` holds the run's workflow
    queue: QueueEntry | None = None  # the run's place on its queue, when it was started on one


@click.command("show")
@click.argument("run_id", metavar="ID")
@format_option(ShowFormat)
@store_option
@click.pass_obj
def show(app: App, run_id: str, fmt: ShowFormat, store_url: str) -> None:
    """Show run ID: workflow, status, times, error, and a timeline of its operations."""
    with open_engine(store_url, access="read") as engine:
        view = RunView(
            engine.get_run(run_id),
            engine.operations(run_id),
            {
                child.parent_seq: child.id
                for child in engine.store.list_runs(parent_id=run_id)
                if child.parent_seq is not None
            },
            retried_attempts(run_id, engine.history(run_id)),
        )
        view = replace(
            view,
            workflow_paused=view.run.workflow in engine.paused_workflows(),
            queue=engine.store.queue_entries([run_id]).get(run_id),
        )
    _SHOW_FORMATS[fmt]().render(app, view)


class RunJson:
    """Everything, for scripts: inputs, results, full errors, source lines."""

    def render(self, app: App, view: RunView) -> None:
        click.echo(
            to_json(
                {
                    "version": JSON_VERSION,
                    "run": {
                        **_run_data(view.run),
                        "workflow_paused": view.workflow_paused,
                        "queue": _queue_data(view.queue),
                    },
                    "operations": [
                        operation_json(op, view.children, view.retried) for op in view.operations
                    ],
                }
            )
        )


class RunText:
    """A header and a timeline table, for people."""

    def render(self, app: App, view: RunView) -> None:
        _print_text(
            app,
            view.run,
            view.operations,
            view.children,
            view.retried,
            view.workflow_paused,
            view.queue,
        )


_SHOW_FORMATS: dict[ShowFormat, type[RunJson] | type[RunText]] = {
    ShowFormat.TEXT: RunText,
    ShowFormat.JSON: RunJson,
}


def _queue_data(entry: QueueEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "name": entry.queue,
        "key": entry.key,
        "priority": entry.priority,
        "dedup_key": entry.dedup_key,
        "state": entry.state,
        "enqueued_at": iso(entry.enqueued_at),
        "dequeued_at": iso(entry.dequeued_at),
    }


def _queue_line(entry: QueueEntry) -> str:
    """``mail (key k1, priority 0): waiting since ...`` or ``...: dequeued at ...``."""
    about = [f"key {entry.key}"] if entry.key is not None else []
    about.append(f"priority {entry.priority}")
    if entry.dedup_key is not None:
        about.append(f"dedup key {entry.dedup_key}")
    if entry.dequeued_at is not None:
        when_ = f"dequeued {when(entry.dequeued_at)}"
    else:
        when_ = f"waiting since {when(entry.enqueued_at)}" if entry.enqueued_at else "waiting"
    return f"{entry.queue} ({', '.join(about)}): {when_}"


def _run_data(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow": run.workflow,
        "workflow_version": run.version,
        "status": run.status.value,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "finished_at": iso(run.finished_at),
        "wake_at": iso(run.wake_at),
        "input": parsed(run.input),
        "result": parsed(run.result),
        "error": parsed(run.error),
        "parent_id": run.parent_id,
        "recoveries": run.recoveries,
        "cancel_requested": run.cancel_requested,
        "paused": run.paused,
    }


def _print_text(
    app: App,
    run: Any,
    ops: list[Any],
    children: dict[int, str],
    retried: dict[int, list[Any]],
    workflow_paused: bool = False,
    queue: QueueEntry | None = None,
) -> None:
    from rich.table import Table
    from rich.text import Text

    out = app.out
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("run", Text(run.id))
    header.add_row("workflow", Text(f"{run.workflow} v{run.version}"))
    header.add_row("status", status_text(run.status.value))
    if run.paused and not run.status.terminal:
        header.add_row("paused", f"yes: no step starts until `wfkit resume {run.id}`")
    if workflow_paused and not run.status.terminal:
        header.add_row(
            "paused",
            f"its workflow is: no step starts until `wfkit resume --workflow {run.workflow}`",
        )
    if queue is not None:
        header.add_row("queue", Text(_queue_line(queue)))
    header.add_row("created", when(run.created_at))
    if run.finished_at is not None:
        header.add_row(
            "finished",
            f"{when(run.finished_at)}  (took {duration(run.created_at, run.finished_at)})",
        )
    elif run.wake_at is not None:
        header.add_row("wakes", when(run.wake_at))
    if run.parent_id:
        header.add_row("parent", Text(run.parent_id))
    if run.recoveries:
        header.add_row("recoveries", str(run.recoveries))
    if run.cancel_requested and not run.status.terminal:
        header.add_row("cancel", "requested")
    if run.error:
        header.add_row("error", Text(error_line(run.error), style="red"))
    print_table(app, header)
    if not ops:
        out.print("\nno operations yet", markup=False)
        return
    by_seq = {op.seq: op for op in ops}
    table = Table(box=None, pad_edge=False, title_justify="left")
    for name, justify in (
        ("SEQ", "right"),
        ("KIND", "left"),
        ("NAME", "left"),
        ("ATTEMPT", "right"),
        ("STATUS", "left"),
        ("STARTED", "left"),
        ("DURATION", "right"),
        ("ERROR", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for op in ops:
        name = op.name
        kind = op.kind.value
        if op.seq in children:
            name = f"{op.name} → {children[op.seq]}"
        if op.compensates is not None:
            undone = by_seq.get(op.compensates)
            kind = "↩ compensation"
            name = (
                f"{op.name} (undoes {seq_label(op.compensates)})"
                if undone is None or undone.name == op.name
                else f"{op.name} (undoes {seq_label(op.compensates)} {undone.name})"
            )
        table.add_row(
            seq_label(op.seq)[1:],
            kind,
            Text(name),
            str(op.attempt) if op.attempt else "",
            status_text(op.status.value),
            when(op.started_at),
            duration(op.started_at, op.finished_at),
            Text(error_line(op.error) if op.error else "", style="red"),
        )
        for earlier in retried.get(op.seq, []):
            if earlier.attempt >= op.attempt:
                continue  # the row above is this attempt (a run parked for its retry)
            table.add_row(
                "",
                "",
                Text("  ↳ retried", style="dim"),
                str(earlier.attempt),
                status_text("FAILED"),
                when(earlier.started_at),
                "",
                Text(error_line(earlier.error) if earlier.error else "", style="red"),
            )
    out.print()
    print_table(app, table)


def error_line(error: str) -> str:
    """``Type: first line of the message`` from a stored error."""
    data = parsed(error)
    if not isinstance(data, dict):
        return str(data).splitlines()[0] if str(data).strip() else ""
    lines = str(data.get("message", "")).strip().splitlines()
    text = f"{data.get('type', 'Error')}: {lines[0] if lines else ''}".rstrip(": ")
    during = data.get("during")
    return f"{text} (during {during})" if during else text
