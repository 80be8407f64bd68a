"""``wfkit versions``: the runs in flight per workflow, code version and version-gate markers,
oldest first: what still runs on old code before an old path is deleted."""

from __future__ import annotations

from enum import Enum

import click

from wfkit.cli.app import App
from wfkit.cli.engine_options import (
    format_option,
    iso,
    open_store_only,
    print_rows,
    say,
    store_option,
    to_json,
    when,
)

JSON_VERSION = 1


class VersionsFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


@click.command("versions")
@click.option("--workflow", metavar="NAME", help="Only this workflow's runs.")
@format_option(VersionsFormat)
@store_option
@click.pass_obj
def versions(app: App, workflow: str | None, fmt: VersionsFormat, store_url: str) -> None:
    """Runs in flight per workflow, code version and gate markers, oldest first.

    \b
    wfkit versions
    wfkit versions --workflow checkout --format json

    A run keeps the version it started on (@workflow(version=N)) and the ctx.patched()
    markers it recorded until it ends; `wfkit patches` says, per gate, when its old branch
    and the gate itself may go.
    """
    from wfkit.engine.versions import version_groups

    with open_store_only(store_url) as store:
        groups = version_groups(store, workflow)
    if fmt == VersionsFormat.JSON:
        click.echo(
            to_json(
                {
                    "version": JSON_VERSION,
                    "groups": [
                        {
                            "workflow": g.workflow,
                            "workflow_version": g.version,
                            "patches": list(g.patches),
                            "runs": g.runs,
                            "statuses": g.statuses,
                            "oldest_started": iso(g.oldest_started),
                            "oldest_run_id": g.oldest_run_id,
                        }
                        for g in groups
                    ],
                }
            )
        )
    elif groups:
        print_rows(
            app,
            [
                ("WORKFLOW", "left"),
                ("VERSION", "right"),
                ("PATCHES", "left"),
                ("RUNS", "right"),
                ("OLDEST STARTED", "left"),
                ("OLDEST RUN", "left"),
            ],
            [
                (
                    g.workflow,
                    str(g.version),
                    ", ".join(g.patches) or "-",
                    str(g.runs),
                    when(g.oldest_started),
                    g.oldest_run_id,
                )
                for g in groups
            ],
        )
    if not groups:
        say(app, "no runs in flight" + (f" of workflow {workflow!r}" if workflow else ""))
