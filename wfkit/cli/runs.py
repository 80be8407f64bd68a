"""Commands that look at or act on stored runs by id: list, send-event, cancel, retry,
skip-step, export.

They need no workflow code: they read and write the store through an engine with no
workflows registered. Changes that make a run move again (cancel, retry, skip-step, an event)
are recorded here and carried out by whichever `wfkit worker` runs that workflow, which is
what the messages say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import click

from wfkit.cli.app import App
from wfkit.cli.engine_options import (
    format_option,
    iso,
    open_engine,
    open_store_only,
    parse_json_option,
    print_rows,
    say,
    status_text,
    store_option,
    to_json,
    when,
)
from wfkit.cli.payload_option import engine_limit, max_payload_option

if TYPE_CHECKING:
    from wfkit.engine.store.base import RunRecord

JSON_VERSION = 1
_STATUSES = (
    "QUEUED",
    "PENDING",
    "RUNNING",
    "SLEEPING",
    "WAITING",
    "COMPLETED",
    "COMPENSATING",
    "COMPENSATED",
    "FAILED",
    "CANCELLED",
)


class ListFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True)
class RunRow:
    """One line of `wfkit list`: a run, how many of its steps are done, and its queue."""

    run: RunRecord
    steps_done: int
    queue: str | None = None


@click.command("list")
@click.option(
    "--status",
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Only runs with this status.",
)
@click.option("--workflow", metavar="NAME", help="Only runs of this workflow (its name).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="At most this many runs, newest first.",
)
@format_option(ListFormat)
@store_option
@click.pass_obj
def list_runs(
    app: App, status: str | None, workflow: str | None, limit: int, fmt: ListFormat, store_url: str
) -> None:
    """List runs, newest first: id, workflow, status, started, steps done (and the queue,
    when a run listed was started on one)."""
    from wfkit.engine.status import RunStatus

    # The store alone, and two reads: the runs, then their steps done in one query.
    with open_store_only(store_url) as store:
        runs = store.list_runs(
            status=RunStatus(status.upper()) if status else None, workflow=workflow, limit=limit
        )
        done = store.steps_done([run.id for run in runs])
        queued = store.queue_entries([run.id for run in runs])
    rows = [
        RunRow(run, done[run.id], queued[run.id].queue if run.id in queued else None)
        for run in runs
    ]
    _LIST_FORMATS[fmt]().render(app, rows)
    if rows and len(rows) == limit:
        say(app, f"showing the newest {limit} run{'' if limit == 1 else 's'}; --limit N shows more")
    elif not rows:
        say(
            app,
            "no runs"
            + (
                " match"
                if status or workflow
                else " yet; start one with `wfkit run MODULE:WORKFLOW --input JSON`"
            ),
        )


class RunsJson:
    """``{"version": 1, "runs": [...]}``, sorted keys: for scripts."""

    def render(self, app: App, rows: Sequence[RunRow]) -> None:
        click.echo(
            to_json(
                {
                    "version": JSON_VERSION,
                    "runs": [
                        {
                            "id": r.run.id,
                            "workflow": r.run.workflow,
                            "workflow_version": r.run.version,
                            "status": r.run.status.value,
                            "created_at": iso(r.run.created_at),
                            "finished_at": iso(r.run.finished_at),
                            "steps_done": r.steps_done,
                            "parent_id": r.run.parent_id,
                            "queue": r.queue,
                        }
                        for r in rows
                    ],
                }
            )
        )


class RunsTable:
    """A rich table for people; nothing at all when there are no runs (stderr says so)."""

    def render(self, app: App, rows: Sequence[RunRow]) -> None:
        if not rows:
            return
        # The QUEUE column only when a run listed is on a queue: other lists read as before.
        queues = any(r.queue is not None for r in rows)
        print_rows(
            app,
            [
                ("ID", "left"),
                ("WORKFLOW", "left"),
                ("STATUS", "left"),
                *([("QUEUE", "left")] if queues else []),
                ("STARTED", "left"),
                ("STEPS DONE", "right"),
            ],
            [
                (
                    r.run.id,
                    r.run.workflow,
                    status_text(r.run.status.value),
                    *([r.queue or "-"] if queues else []),
                    when(r.run.created_at),
                    str(r.steps_done),
                )
                for r in rows
            ],
        )


_LIST_FORMATS: dict[ListFormat, type[RunsJson] | type[RunsTable]] = {
    ListFormat.TABLE: RunsTable,
    ListFormat.JSON: RunsJson,
}


@click.command("send-event")
@click.argument("run_id", metavar="ID")
@click.argument("name")
@click.option(
    "--data",
    metavar="JSON",
    help="The event's payload as JSON (default null); @file.json reads a file.",
)
@max_payload_option
@store_option
@click.pass_obj
def send_event(
    app: App, run_id: str, name: str, data: str | None, max_payload: int | None, store_url: str
) -> None:
    """Send event NAME to run ID (buffered until the run waits for it)."""
    payload = parse_json_option(data, "--data")
    with open_engine(store_url, access="existing", **engine_limit(max_payload)) as engine:
        engine.send_event(run_id, name, payload)
        status = engine.get_run(run_id).status.value
    say(app, f"sent event {name!r} to run {run_id} ({status}); a worker delivers it")


@click.command("cancel")
@click.argument("run_id", metavar="ID")
@click.option(
    "--no-compensate",
    is_flag=True,
    help="Stop without undoing completed steps (default: compensate them).",
)
@store_option
@click.pass_obj
def cancel(app: App, run_id: str, no_compensate: bool, store_url: str) -> None:
    """Cancel run ID; its completed steps are compensated unless --no-compensate."""
    with open_engine(store_url, access="existing") as engine:
        requested = engine.cancel(run_id, compensate=not no_compensate, drive=False)
        compensate = engine.get_run(run_id).compensate_on_cancel
    what = "compensate its completed steps" if compensate else "stop without compensating"
    if requested:
        say(app, f"cancel requested for run {run_id}: a worker will {what}, then mark it CANCELLED")
    else:
        say(
            app,
            f"cancel was already requested for run {run_id}; nothing changed (a worker "
            f"will {what}, then mark it CANCELLED)",
        )


@click.command("retry")
@click.argument("run_id", metavar="ID")
@store_option
@click.pass_obj
def retry(app: App, run_id: str, store_url: str) -> None:
    """Resume FAILED run ID from its checkpoints (completed steps do not run again)."""
    with open_engine(store_url, access="existing") as engine:
        engine.retry(run_id)
        status = engine.get_run(run_id).status.value
    say(app, f"run {run_id} is {status} again; a worker resumes it from its checkpoints")


@click.command("skip-step")
@click.argument("run_id", metavar="ID")
@click.argument("step")
@click.option(
    "--result",
    "result_text",
    metavar="JSON",
    help="The result to record for the failed step, as JSON (default null; "
    "ignored for a failed compensation). @file.json reads a file.",
)
@max_payload_option
@store_option
@click.pass_obj
def skip_step(
    app: App,
    run_id: str,
    step: str,
    result_text: str | None,
    max_payload: int | None,
    store_url: str,
) -> None:
    """Record a result by hand for STEP, the failed step of FAILED run ID, and resume it."""
    result = parse_json_option(result_text, "--result")
    with open_engine(store_url, access="existing", **engine_limit(max_payload)) as engine:
        engine.skip_step(run_id, step, result)
        status = engine.get_run(run_id).status.value
    say(
        app,
        f"recorded a result for step {step!r}; run {run_id} is {status} and a worker resumes it",
    )


@click.command("export")
@click.argument("run_id", metavar="ID")
@store_option
def export(run_id: str, store_url: str) -> None:
    """Print run ID's history as JSON (the input of `wfkit replay`)."""
    from wfkit.engine.history import History

    with open_engine(store_url, access="read") as engine:
        text = History.from_store(engine.store, run_id).to_json()
    click.echo(text)
