"""``wfkit schedules``: list, pause, resume, trigger and backfill the schedules of MODULE...

The schedules are those the workflows in MODULE... declare (``@workflow(schedule=...)``), as
``wfkit worker MODULE...`` loads them; their state (pauses, the ticks handled, the last run)
is in the store, so what this command changes every worker on the store sees at its next look.
MODULE... comes last, as in ``wfkit worker``, because there can be several.

Every argument is checked before the store is opened (the schedule's name against the code,
the datetimes of a backfill), so a typo leaves no run and no database behind. ``trigger`` and
``backfill`` only start runs, as ``wfkit run --no-wait`` does: a worker runs them, as it runs
the runs the schedule starts by itself; ``trigger --wait`` runs it here and prints its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import click

from wfkit.cli.app import App
from wfkit.cli.engine_options import (
    format_option,
    iso,
    open_engine,
    print_rows,
    say,
    store_option,
    to_json,
)
from wfkit.errors import UsageError

if TYPE_CHECKING:
    from wfkit.engine.definitions import WorkflowDef
    from wfkit.engine.scheduler import ScheduleInfo

JSON_VERSION = 1


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"


modules_argument = click.argument("modules", nargs=-1, required=True, metavar="MODULE...")


@click.group("schedules")
def schedules() -> None:
    """The schedules declared by the workflows in MODULE... (@workflow(schedule=...)).

    \b
    wfkit schedules list myapp/flows.py
    wfkit schedules pause nightly myapp/flows.py
    wfkit schedules trigger nightly myapp/flows.py
    wfkit schedules backfill nightly --from 2026-11-01T00:00Z --to 2026-11-07T00:00Z myapp/flows.py
    """


@schedules.command("list")
@modules_argument
@format_option(Format)
@store_option
@click.pass_obj
def list_schedules(app: App, modules: Sequence[str], fmt: Format, store_url: str) -> None:
    """List the schedules: next fire time (UTC), paused, last run, buffered tick.

    Schedules only the store knows (the code no longer declares them) are listed too, marked
    "(not in the code)" ("in_code": false in JSON). Before any worker has made the store, the
    schedules of the code are listed with their next fire times (nothing has fired yet)."""
    from wfkit.engine.engine import Engine
    from wfkit.engine.store.memory import MemoryStore
    from wfkit.errors import NoStore

    workflows = _load(modules)
    try:
        with open_engine(store_url, workflows=workflows, access="read") as engine:
            infos = engine.schedules.all()
    except NoStore as missing:
        with Engine(MemoryStore(), workflows=workflows) as engine:
            infos = engine.schedules.all()
        say(app, f"no store at {missing.where} yet: nothing has fired; times are from the code")
    if fmt is Format.JSON:
        click.echo(to_json({"version": JSON_VERSION, "schedules": [_json(i) for i in infos]}))
        return
    if not infos:
        say(app, "no schedules: declare one with @workflow(schedule=Cron(...))")
        return
    print_rows(
        app,
        [
            ("SCHEDULE", "left"),
            ("WORKFLOW", "left"),
            ("WHEN", "left"),
            ("NEXT FIRE (UTC)", "left"),
            ("PAUSED", "left"),
            ("LAST RUN", "left"),
            ("BUFFERED TICK", "left"),
        ],
        [
            [
                info.name,
                info.workflow,
                info.describe,
                _utc(info.next_fire),
                "yes" if info.paused else "no",
                info.last_run_id or "-",
                _utc(info.buffered_tick),
            ]
            for info in infos
        ],
    )


@schedules.command("pause")
@click.argument("name")
@modules_argument
@store_option
@click.pass_obj
def pause(app: App, name: str, modules: Sequence[str], store_url: str) -> None:
    """Pause schedule NAME: no tick starts a run until `resume`.

    Runs already started go on; every worker on the store sees the pause at its next look."""
    _set_paused(app, name, modules, store_url, paused=True)


@schedules.command("resume")
@click.argument("name")
@modules_argument
@store_option
@click.pass_obj
def resume(app: App, name: str, modules: Sequence[str], store_url: str) -> None:
    """Resume schedule NAME; ticks missed while paused follow its catch-up policy."""
    _set_paused(app, name, modules, store_url, paused=False)


@schedules.command("trigger")
@click.argument("name")
@modules_argument
@click.option(
    "--wait", is_flag=True, help="Run it here until it ends and print its result as JSON."
)
@store_option
@click.pass_obj
def trigger(app: App, name: str, modules: Sequence[str], wait: bool, store_url: str) -> None:
    """Start a run of schedule NAME now and print its id.

    The run gets the schedule's input and the id NAME@<now>; a worker runs it, unless --wait
    runs it here (then its result is printed as JSON, as `wfkit run` prints it)."""
    import json

    from wfkit.cli.progress import progress_for
    from wfkit.cli.run import _drive  # the same driver as `wfkit run`, in this package

    workflows = _load(modules)
    _check_declared(name, workflows)
    with (
        progress_for(app) if wait else _no_progress() as observer,
        open_engine(store_url, workflows=workflows, observer=observer) as engine,
    ):
        handle = engine.schedules.trigger(name)
        click.echo(handle.id)
        workflow = engine.get_run(handle.id).workflow
        say(app, f"started run {handle.id} of schedule {name!r} ({workflow})")
        if not wait:
            return
        try:
            _drive(app, engine, handle.id, None)
        except KeyboardInterrupt:  # hand it back now, as `wfkit run` does, not at lease expiry
            engine.store.release(engine.owner, handle.id)
            say(app, f"left run {handle.id} to a worker")
            raise
        stored = engine.get_run(handle.id).result
    value = json.loads(stored) if stored is not None else None
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@schedules.command("backfill")
@click.argument("name")
@modules_argument
@click.option("--from", "start", required=True, metavar="ISO", help="First moment (aware ISO).")
@click.option("--to", "end", required=True, metavar="ISO", help="Last moment (aware ISO).")
@store_option
@click.pass_obj
def backfill(
    app: App, name: str, modules: Sequence[str], start: str, end: str, store_url: str
) -> None:
    """Start a run for each tick of schedule NAME from --from to --to.

    Both ends are included and must be aware ISO datetimes (2026-11-01T00:00Z). Every tick
    gets its run whatever the overlap policy; ticks that have their run already are not
    started again. Prints the runs' ids, oldest tick first; a worker runs them."""
    first, last = _aware(start, "--from"), _aware(end, "--to")
    if last < first:
        raise UsageError(
            f"--to ({end}) is before --from ({start})", hint="swap them, or fix the dates"
        )
    workflows = _load(modules)
    _check_declared(name, workflows)
    with open_engine(store_url, workflows=workflows) as engine:
        ids = engine.schedules.backfill(name, first, last)
    for run_id in ids:
        click.echo(run_id)
    say(
        app,
        f"{len(ids)} tick{'s' if len(ids) != 1 else ''} of schedule {name!r} "
        f"have their run; a worker runs them",
    )


# -- helpers -------------------------------------------------------------------------------------
def _load(modules: Sequence[str]) -> list[WorkflowDef[Any]]:
    from wfkit.engine.loader import load_modules

    return load_modules(modules)


def _declared(workflows: Sequence[WorkflowDef[Any]]) -> list[str]:
    return sorted(name for wf in workflows for name, _ in wf.schedules)


def _check_declared(name: str, workflows: Sequence[WorkflowDef[Any]]) -> None:
    """Before the store is opened: a schedule to start runs of must be in the code."""
    _check_known(name, _declared(workflows))


def _check_known(name: str, names: Sequence[str]) -> None:
    known = sorted(set(names))
    if name not in known:
        raise UsageError(
            f"no schedule named {name!r} in the workflows loaded",
            hint=f"schedules: {', '.join(known) or 'none (declare one with @workflow(schedule=...))'}",
        )


def _set_paused(app: App, name: str, modules: Sequence[str], store_url: str, paused: bool) -> None:
    workflows = _load(modules)
    with open_engine(store_url, workflows=workflows, access="existing") as engine:
        # A schedule the code no longer declares keeps its state: it can be paused too.
        _check_known(
            name, [*_declared(workflows), *(s.name for s in engine.store.schedule_states())]
        )
        if paused:
            engine.schedules.pause(name)
        else:
            engine.schedules.resume(name)
        info = next(i for i in engine.schedules.all() if i.name == name)
    if paused:
        say(app, f"schedule {name!r} is paused: no tick starts a run until it is resumed")
    else:
        say(app, f"schedule {name!r} is running again; next fire {_utc(info.next_fire)} UTC")


def _aware(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not an ISO datetime", hint="e.g. 2026-11-01T00:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(
            f"{option} {text!r} has no time zone",
            hint=f"add one, e.g. {moment.isoformat()}+00:00 or {moment.isoformat()}Z",
        )
    return moment


def _utc(moment: datetime | None) -> str:
    from datetime import timezone

    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _json(info: ScheduleInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "workflow": info.workflow,
        "describe": info.describe,
        "in_code": info.in_code,
        "paused": info.paused,
        "next_fire": iso(info.next_fire),
        "handled_until": iso(info.handled_until),
        "last_run_id": info.last_run_id,
        "buffered_tick": iso(info.buffered_tick),
    }


def _no_progress() -> Any:
    from contextlib import nullcontext

    return nullcontext(None)
