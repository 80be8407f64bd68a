"""``wfkit run MODULE:WORKFLOW --input JSON``: start a run and (by default) drive it to the end.

Everything that can be wrong with the command line (the workflow reference, the JSON, its fit
to the workflow's signature) is checked before the store is opened, so a typo never leaves a
run, or a database file, behind. While the run is driven here, its progress (steps, retries,
compensations, waits) goes to stderr: see :mod:`wfkit.cli.progress`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from wfkit.cli.app import EXIT_FAILURE, App, abort
from wfkit.cli.engine_options import open_engine, parse_json_option, say, store_option
from wfkit.cli.payload_option import engine_limit, max_payload_option
from wfkit.errors import UsageError

# How often the in-process driver looks up from the run to report that it is parked.
_POLL_SECONDS = 0.5


@click.command("run")
@click.argument("target", metavar="MODULE:WORKFLOW")
@click.option(
    "--input",
    "input_text",
    metavar="JSON",
    help="The workflow's arguments as JSON: an object by parameter name, the value "
    'itself for a one-parameter workflow, or {"args": [...], "kwargs": '
    "{...}}. @file.json reads a file, @- stdin.",
)
@click.option(
    "--id",
    "run_id",
    metavar="ID",
    help="The run's id (default: from the workflow's workflow_id template, else a new "
    "UUID). Starting an id again returns that run.",
)
@click.option(
    "--no-wait", is_flag=True, help="Only start the run (print its id); a `wfkit worker` runs it."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up waiting after this long (exit 1; the run carries on later).",
)
@click.option(
    "--queue",
    metavar="NAME",
    help="Start the run on this queue (default: the workflow's @workflow(queue=...)); it "
    "waits QUEUED until dequeued within the queue's limits.",
)
@click.option(
    "--queue-key", metavar="KEY", help="What the queue's per_key limit counts by (e.g. a customer)."
)
@click.option(
    "--priority",
    type=click.IntRange(min=0, max=2**31 - 1),
    default=0,
    show_default=True,
    help="Queue priority: smaller starts first; FIFO within a priority.",
)
@click.option(
    "--dedup-key",
    metavar="KEY",
    help="Refuse (exit 2) while a run of the queue with this key has not finished.",
)
@max_payload_option
@store_option
@click.pass_obj
def run(
    app: App,
    target: str,
    input_text: str | None,
    run_id: str | None,
    no_wait: bool,
    timeout: float | None,
    max_payload: int | None,
    store_url: str,
    queue: str | None,
    queue_key: str | None,
    priority: int,
    dedup_key: str | None,
) -> None:
    """Start a workflow run and print its result as JSON.

    \b
    wfkit run fixtures/examples/orders.py:process_order \\
        --input '{"order_id": "ORD-001", "amount": "42.50", "email": "ada@example.com"}'

    Exit 0 when the run completes, 1 when it ends COMPENSATED, FAILED or CANCELLED (or
    --timeout passes), 2 for bad input.
    """
    from wfkit.engine.binding import arguments_from_json
    from wfkit.engine.loader import load_workflow

    if run_id is not None and not run_id.strip():
        abort("--id must not be empty", hint="pass a non-empty id or leave --id out")
    if run_id is not None:
        from wfkit.engine.ids import check_id

        check_id(run_id, "--id")
    wf = load_workflow(target)
    queue_options = _queue_options(wf, queue, queue_key, priority, dedup_key)
    data = parse_json_option(input_text, "--input")
    missing: UsageError | None = None
    try:
        args, kwargs = arguments_from_json(wf.fn, data, where=f"input of workflow {wf.name!r}")
    except UsageError as bad:
        if input_text is not None:
            raise
        missing = UsageError(  # fine if the run exists: `run --id ID` drives it
            f"workflow {wf.name!r} needs --input"
            + (f", and there is no run {run_id!r} to resume" if run_id else "")
            + f": {bad.message}",
            hint=bad.hint or "pass --input JSON",
        )
        if run_id is None:
            raise missing from None
        args, kwargs = [], {}
    with (
        _progress(app, no_wait) as observer,
        open_engine(
            store_url,
            workflows=[wf],
            access="create" if missing is None else "existing",
            missing=missing,
            observer=observer,
            **engine_limit(max_payload),
        ) as engine,
    ):
        if missing is not None and (run_id is None or engine.store.get_run(run_id) is None):
            raise missing
        # Without --id the workflow's workflow_id template (or a new UUID) names the run.
        handle = engine.start(wf, *args, workflow_id=run_id, **queue_options, **kwargs)
        existed = not handle.created
        if existed:
            say(app, f"run {handle.id} already exists; showing that run")
        if no_wait:
            click.echo(handle.id)
            if not existed:
                say(
                    app,
                    f"started run {handle.id} ({wf.name}); a worker will run it: "
                    f"wfkit worker {target.rpartition(':')[0]}",
                )
            return
        if not existed:
            say(app, f"started run {handle.id} ({wf.name})")
        try:
            _drive(app, engine, handle.id, timeout)
        except KeyboardInterrupt:
            # Hand the run back now rather than when the lease runs out; a step cut off here
            # is re-run by whoever takes the run next (the same window as a crash).
            engine.store.release(engine.owner, handle.id)
            say(app, f"left run {handle.id} to a worker (wfkit worker {target.rpartition(':')[0]})")
            raise
        stored = engine.get_run(handle.id).result
        value = json.loads(stored) if stored is not None else None
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _queue_options(
    wf: Any, queue: str | None, key: str | None, priority: int, dedup_key: str | None
) -> dict[str, Any]:
    """start()'s queue keywords, checked before the store is opened: the queue must be the
    one the workflow declares (the only one this command knows the limits of)."""
    from wfkit.engine.queues import check_enqueue

    declared = {wf.queue.name: wf.queue} if wf.queue is not None else {}
    check_enqueue(declared, queue if queue is not None else wf.queue, key, priority, dedup_key)
    options: dict[str, Any] = {"queue_key": key, "queue_priority": priority}
    if queue is not None:
        options["queue"] = queue
    if dedup_key is not None:
        options["queue_dedup_key"] = dedup_key
    return options


def _progress(app: App, no_wait: bool) -> Any:
    """Where the run's progress goes (stderr; nothing with -q or when not waiting)."""
    from contextlib import nullcontext

    from wfkit.cli.progress import progress_for

    return nullcontext(None) if no_wait else progress_for(app)


def _drive(app: App, engine: Any, run_id: str, timeout: float | None) -> None:
    """Run the workflow here until it ends, saying once each time it parks (and why)."""
    from wfkit.engine.status import RunStatus
    from wfkit.errors import ResultTimeout, RunFailed

    deadline = None if timeout is None else time.monotonic() + timeout
    told: RunStatus | str | None = None  # what was last said, so it is said once
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        step = _POLL_SECONDS if left is None else max(0.0, min(_POLL_SECONDS, left))
        try:
            engine.result(run_id, timeout=step)
            return
        except RunFailed as failed:  # its message may hold a multi-line exception text
            abort(
                f"workflow run {run_id!r} ended {failed.status}"
                + (f": {_first_line(failed.error)}" if failed.error else ""),
                hint=f"inspect it with `wfkit show {run_id}`",
                code=EXIT_FAILURE,
            )
        except ResultTimeout as waited:
            status = RunStatus(waited.status)
            if left is not None and left <= step:
                raise ResultTimeout(run_id, timeout or 0.0, status.value) from None
        current = engine.get_run(run_id)
        held = (
            f"wfkit resume {run_id}"
            if current.paused
            else f"wfkit resume --workflow {current.workflow}"
            if current.workflow in engine.paused_workflows()
            else None
        )
        if held is not None:
            if told != "paused":
                told = "paused"
                say(
                    app,
                    f"run {run_id} is paused ({status.value}); waiting here until it is "
                    f"resumed (`{held}`; Ctrl-C leaves it to `wfkit worker`)",
                )
        elif current.lease_owner not in (None, engine.owner) and told != "leased":
            told = "leased"
            say(
                app,
                f"run {run_id} is {status.value} in another process "
                f"({current.lease_owner}); waiting for it to finish",
            )
        elif status in (RunStatus.WAITING, RunStatus.SLEEPING) and status != told:
            told = status
            wake = current.wake_at
            until = f" until {wake.strftime('%Y-%m-%d %H:%M:%S')} UTC" if wake else ""
            event = _awaited_event(engine, run_id) if status == RunStatus.WAITING else None
            awaited = f" for event {event!r}" if event else ""
            events = (
                ""
                if status != RunStatus.WAITING
                else f"; send it with `wfkit send-event {run_id} {event}`"
                if event
                else f"; send events with `wfkit send-event {run_id} NAME`"
            )
            say(
                app,
                f"run {run_id} is {status.value}{awaited}{until}; waiting here (Ctrl-C "
                f"leaves it to `wfkit worker`{events})",
            )
        elif status not in (RunStatus.WAITING, RunStatus.SLEEPING) and current.lease_owner in (
            None,
            engine.owner,
        ):
            told = None


def _awaited_event(engine: Any, run_id: str) -> str | None:
    """The event a WAITING run waits for (its newest wait still open), so the hint can say
    exactly what to send; None when it waits for something else (a child run)."""
    from wfkit.engine.status import OpKind, OpStatus

    waits = [
        op
        for op in engine.operations(run_id)
        if op.kind == OpKind.EVENT and op.status == OpStatus.STARTED
    ]
    return waits[-1].name if waits else None


def _first_line(error: dict[str, Any]) -> str:
    lines = str(error.get("message", "")).strip().splitlines()
    text = f"{error.get('type', 'Error')}: {lines[0] if lines else ''}".rstrip(": ")
    during = error.get("during")
    return f"{text} (during {during})" if during else text
