"""Commands that look at or act on stored runs by id: list, send-event, cancel, retry,
pause, resume, skip-step, export.

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

from wfkit.cli.app import App, abort
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
    workflow_module_option,
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
    workflow_paused: bool = False  # its workflow is paused (`wfkit pause --workflow`)

    @property
    def status(self) -> str:
        """The status as people read it: a paused run's says so beside it."""
        if self.run.status.terminal:
            return self.run.status.value
        if self.run.paused:
            return f"{self.run.status.value} (paused)"
        if self.workflow_paused:
            return f"{self.run.status.value} (workflow paused)"
        return self.run.status.value


@click.command("list")
@click.option(
    "--status",
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Only runs with this status.",
)
@click.option("--workflow", metavar="NAME", help="Only runs of this workflow (its name).")
@click.option("--queue", metavar="NAME", help="Only runs started on this queue.")
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
    app: App,
    status: str | None,
    workflow: str | None,
    queue: str | None,
    limit: int,
    fmt: ListFormat,
    store_url: str,
) -> None:
    """List runs, newest first: id, workflow, status, started, steps done (and the queue,
    when a run listed was started on one)."""
    from wfkit.engine.status import RunStatus

    # The store alone, and two reads: the runs, then their steps done in one query.
    with open_store_only(store_url) as store:
        runs = store.list_runs(
            status=RunStatus(status.upper()) if status else None,
            workflow=workflow,
            limit=limit,
            queue=queue,
        )
        done = store.steps_done([run.id for run in runs])
        queued = store.queue_entries([run.id for run in runs])
        held = store.paused_workflows()
    rows = [
        RunRow(
            run,
            done[run.id],
            queued[run.id].queue if run.id in queued else None,
            run.workflow in held,
        )
        for run in runs
    ]
    _LIST_FORMATS[fmt]().render(app, rows)
    for name in sorted(held) if workflow is None else [w for w in held if w == workflow]:
        say(app, f"workflow {name!r} is paused (since {when(held[name])}): its runs start no step")
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
                            "paused": r.run.paused,
                            "workflow_paused": r.workflow_paused,
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
                    status_text(r.status),
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
@click.option(
    "--force",
    is_flag=True,
    help="End the run CANCELLED now, in the store: no compensation, no waiting for a worker "
    "(one still running it is fenced off and its step's result discarded).",
)
@store_option
@click.pass_obj
def cancel(app: App, run_id: str, no_compensate: bool, force: bool, store_url: str) -> None:
    """Cancel run ID; its completed steps are compensated unless --no-compensate or --force."""
    with open_engine(store_url, access="existing") as engine:
        if force:
            engine.cancel(run_id, force=True, drive=False)
            say(app, f"run {run_id} is CANCELLED (forced: nothing was compensated)")
            return
        requested = engine.cancel(run_id, compensate=not no_compensate, drive=False)
        run = engine.get_run(run_id)
        compensate = run.compensate_on_cancel
        held = run.paused or run.workflow in engine.paused_workflows()
    what = "compensate its completed steps" if compensate else "stop without compensating"
    later = " once it is resumed (it is paused)" if held else ""
    if requested:
        say(
            app,
            f"cancel requested for run {run_id}: a worker will {what}, then mark it "
            f"CANCELLED{later}",
        )
    else:
        say(
            app,
            f"cancel was already requested for run {run_id}; nothing changed (a worker "
            f"will {what}, then mark it CANCELLED{later})",
        )


@click.command("retry")
@click.argument("run_id", metavar="ID")
@click.option(
    "--input",
    "input_text",
    metavar="JSON",
    help="Resume with this input bound as the workflow's input, read as `wfkit run --input` "
    "reads it; needs --module. @file.json reads a file.",
)
@workflow_module_option
@max_payload_option
@store_option
@click.pass_obj
def retry(
    app: App,
    run_id: str,
    input_text: str | None,
    modules: tuple[str, ...],
    max_payload: int | None,
    store_url: str,
) -> None:
    """Resume FAILED run ID from its checkpoints (completed steps do not run again)."""
    if input_text is None:
        if modules:
            abort("--module binds --input", hint="add --input JSON, or leave --module out")
        with open_engine(store_url, access="existing") as engine:
            engine.retry(run_id)
            status = engine.get_run(run_id).status.value
        say(app, f"run {run_id} is {status} again; a worker resumes it from its checkpoints")
        return
    if not modules:
        abort(
            "--input needs the workflow's code to bind it",
            hint="add --module with the file that defines the workflow, e.g. --module app/flows.py",
        )
    from wfkit.cli.fork import bound_input
    from wfkit.engine.loader import load_modules

    data = parse_json_option(input_text, "--input")
    workflows = load_modules(modules)
    with open_engine(
        store_url, workflows=workflows, access="existing", **engine_limit(max_payload)
    ) as engine:
        args, kwargs = bound_input(engine, run_id, data)
        engine.retry(run_id, args=args, kwargs=kwargs)
        status = engine.get_run(run_id).status.value
    say(
        app,
        f"run {run_id} is {status} again with the new input; a worker runs its failed step "
        "and the rest with it (recorded steps keep their results)",
    )


@click.command("pause")
@click.argument("run_id", metavar="[ID]", required=False)
@click.option("--workflow", metavar="NAME", help="Pause every run of this workflow instead.")
@store_option
@click.pass_obj
def pause(app: App, run_id: str | None, workflow: str | None, store_url: str) -> None:
    """Pause run ID (or --workflow NAME): no step starts until `wfkit resume`; a step already
    running finishes and is recorded."""
    _one_target(run_id, workflow, "pause")
    with open_engine(store_url, access="existing") as engine:
        if workflow is not None:
            changed = engine.pause_workflow(workflow)
            what = f"workflow {workflow!r}"
            note = "; new runs of it are created and wait"
        else:
            assert run_id is not None
            changed = engine.pause(run_id)
            what = f"run {run_id} ({engine.get_run(run_id).status.value})"
            note = ""
    if changed:
        say(app, f"paused {what}: no step of it starts until `wfkit resume`{note}")
    else:
        say(app, f"{what} was already paused; nothing changed")


@click.command("resume")
@click.argument("run_id", metavar="[ID]", required=False)
@click.option("--workflow", metavar="NAME", help="Resume the runs of this paused workflow.")
@store_option
@click.pass_obj
def resume(app: App, run_id: str | None, workflow: str | None, store_url: str) -> None:
    """Resume paused run ID (or --workflow NAME); a worker carries it on."""
    _one_target(run_id, workflow, "resume")
    with open_engine(store_url, access="existing") as engine:
        if workflow is not None:
            engine.resume_workflow(workflow)
            say(app, f"resumed workflow {workflow!r}; workers carry its runs on")
            return
        assert run_id is not None
        engine.resume(run_id)
        run = engine.get_run(run_id)
        held = run.workflow in engine.paused_workflows()
    say(
        app,
        f"resumed run {run_id} ({run.status.value}); "
        + (
            f"its workflow {run.workflow!r} is still paused (wfkit resume --workflow)"
            if held
            else "a worker carries it on"
        ),
    )


def _one_target(run_id: str | None, workflow: str | None, verb: str) -> None:
    if run_id is not None and workflow is not None:
        abort("give a run ID or --workflow, not both", hint=f"wfkit {verb} ID")
    if run_id is None and workflow is None:
        abort(f"name what to {verb}", hint=f"wfkit {verb} ID, or wfkit {verb} --workflow NAME")


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
