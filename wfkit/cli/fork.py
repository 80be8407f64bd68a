"""``wfkit fork``: new runs that keep recorded results up to a step and run the rest on the
current code; one run by id, or every run a selection names (after a bug fix)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import click

from wfkit.cli.app import EXIT_FAILURE, App, abort
from wfkit.cli.engine_options import (
    format_option,
    open_engine,
    parse_json_option,
    say,
    store_option,
    to_json,
    workflow_module_option,
)
from wfkit.cli.prune import parse_duration

if TYPE_CHECKING:
    from wfkit.engine.engine import Engine
    from wfkit.engine.fork import ForkPlan

JSON_VERSION = 1
_STATUSES = ("COMPLETED", "FAILED", "COMPENSATED", "CANCELLED")


class ForkFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


@click.command("fork")
@click.argument("run_id", metavar="[ID]", required=False)
@click.option(
    "--from-step",
    "from_step",
    type=click.IntRange(min=1),
    metavar="N",
    help="Keep the results of operations before #N (the numbers `wfkit show` prints) and run "
    "from #N. Default: the run's first operation that did not complete (its failed step).",
)
@click.option("--id", "new_id", metavar="NEW_ID", help="The fork's id (one run only).")
@click.option(
    "--input",
    "input_text",
    metavar="JSON",
    help="Another input for the fork (one run only), as `wfkit run --input` takes it; needs "
    "--module. @file.json reads a file.",
)
@workflow_module_option
@click.option(
    "--status",
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Fork every run with this status (instead of one ID).",
)
@click.option("--workflow", metavar="NAME", help="With --status: only runs of this workflow.")
@click.option(
    "--since",
    metavar="DURATION",
    help="With --status: only runs started this recently: 1d, 12h, 90m, 2w.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be kept and run again; fork none.")
@format_option(ForkFormat)
@store_option
@click.pass_obj
def fork(
    app: App,
    run_id: str | None,
    from_step: int | None,
    new_id: str | None,
    input_text: str | None,
    modules: tuple[str, ...],
    status: str | None,
    workflow: str | None,
    since: str | None,
    dry_run: bool,
    fmt: ForkFormat,
    store_url: str,
) -> None:
    """Start a new run from a recorded one: results before a step kept, the rest run again.

    \b
    wfkit fork RUN_ID --dry-run               what would run again
    wfkit fork RUN_ID --from-step 3           keep #1-#2, run from #3 on the current code
    wfkit fork --status FAILED --workflow checkout --since 1d

    The original run is left as it is. Workers run the forks (or `wfkit worker` / `wfkit run
    --id FORK_ID`). Exit 1 when some selected run could not be forked (each says why).
    """
    from wfkit.errors import UsageError

    if run_id is not None and (status or workflow or since):
        abort("give a run ID or a selection (--status ...), not both")
    if (workflow or since) and status is None:
        abort("--workflow and --since select runs with --status", hint="add --status FAILED")
    if run_id is None and status is None:
        abort("name the run to fork", hint="wfkit fork RUN_ID, or --status FAILED to fork many")
    if new_id is not None and run_id is None:
        abort("--id names one fork", hint="give a run ID, or leave --id out")
    if input_text is not None and run_id is None:
        abort("--input is for one fork", hint="give a run ID, or leave --input out")
    if input_text is not None and not modules:
        abort(
            "--input needs the workflow's code to bind it",
            hint="add --module with the file that defines the workflow, e.g. --module app/flows.py",
        )
    seconds = parse_duration(since, "--since") if since else None
    from wfkit.engine.loader import load_modules

    data = parse_json_option(input_text, "--input")
    workflows = load_modules(modules) if modules else []
    records: list[dict[str, Any]] = []
    failed = 0
    with open_engine(
        store_url, workflows=workflows, access="read" if dry_run else "existing"
    ) as engine:
        ids = [run_id] if run_id is not None else _selected(engine, status, workflow, seconds)
        for rid in ids:
            try:
                plan = engine.fork_plan(rid, from_step)
                args, kwargs = (
                    bound_input(engine, rid, data) if input_text is not None else (None, None)
                )
                fork_id = None
                if not dry_run:
                    fork_id = engine.fork(
                        rid, from_step, args=args, kwargs=kwargs, workflow_id=new_id
                    ).id
            except UsageError as exc:
                if run_id is not None:
                    raise
                failed += 1
                say(app, f"{rid}: not forked: {exc}")
                continue
            records.append(_record(plan, fork_id))
    if fmt == ForkFormat.JSON:
        click.echo(to_json({"version": JSON_VERSION, "dry_run": dry_run, "forks": records}))
    else:
        for r in records:
            click.echo(_line(r, dry_run))
    if run_id is None:
        verb = "would fork" if dry_run else "forked"
        say(app, f"{verb} {len(records)} run{'' if len(records) == 1 else 's'}")
    if failed:
        raise SystemExit(EXIT_FAILURE)


def bound_input(engine: Engine, run_id: str, data: Any) -> tuple[list[Any], dict[str, Any]]:
    """``--input`` data bound to run ``run_id``'s workflow, as `wfkit run --input` binds it
    (shared with `wfkit retry --input`); exit 2 when its workflow is not in the modules."""
    from wfkit.engine.binding import arguments_from_json

    name = engine.get_run(run_id).workflow
    wf = engine.workflows.get(name)
    if wf is None:
        abort(
            f"workflow {name!r} (of run {run_id}) is not defined in the --module given",
            hint="name the module that defines it",
        )
    return arguments_from_json(wf.fn, data, where=f"--input of workflow {name!r}")


def _selected(
    engine: Engine, status: str | None, workflow: str | None, seconds: float | None
) -> list[str]:
    from datetime import timedelta

    runs = engine.list_runs(status=status, workflow=workflow)
    if seconds is not None:
        after = engine.clock.now() - timedelta(seconds=seconds)
        runs = [r for r in runs if r.created_at >= after]
    return [r.id for r in reversed(runs)]  # oldest first


def _record(plan: ForkPlan, fork_id: str | None) -> dict[str, Any]:
    from wfkit.engine.core.numbering import seq_label

    return {
        "run_id": plan.run_id,
        "workflow": plan.workflow,
        "fork_id": fork_id,
        "from_step": plan.from_step,
        "kept": [f"{seq_label(op.seq)} {op.kind.value} {op.name}" for op in plan.kept],
        "steps_again": plan.steps_again,
    }


def _line(record: dict[str, Any], dry_run: bool) -> str:
    again = ", ".join(record["steps_again"]) or "no step recorded yet"
    kept = len(record["kept"])
    head = record["run_id"] if dry_run else f"{record['run_id']} -> {record['fork_id']}"
    return (
        f"{head}: from #{record['from_step']}, {kept} operation{'' if kept == 1 else 's'} kept; "
        f"steps run again: {again}"
    )
