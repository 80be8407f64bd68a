"""The `wfkit` command: a root click group whose subcommands load on demand.

Each command lives in its own module under ``wfkit.cli`` and is imported only when it runs (or
when ``--help`` lists it), so ``wfkit --help`` stays instant and a linter run never imports the
engine. Every failure leaves through :func:`wfkit.cli.app.abort`: one line on stderr naming the
problem and the fix, and an exit code that means one thing (0 ok, 1 findings/failure,
2 usage/input error, 3 internal error).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from wfkit import __version__

# name -> "module:attribute". Add a command by writing its module and one line here.
COMMANDS: dict[str, str] = {
    "cancel": "wfkit.cli.runs:cancel",
    "compat": "wfkit.cli.compat:compat",
    "fork": "wfkit.cli.fork:fork",
    "export": "wfkit.cli.runs:export",
    "graph": "wfkit.cli.graph:graph",
    "lint": "wfkit.cli.lint:lint",
    "list": "wfkit.cli.runs:list_runs",
    "patches": "wfkit.cli.patches:patches",
    "pause": "wfkit.cli.runs:pause",
    "prune": "wfkit.cli.prune:prune",
    "replay": "wfkit.cli.replay:replay",
    "resume": "wfkit.cli.runs:resume",
    "retry": "wfkit.cli.runs:retry",
    "rule": "wfkit.cli.lint:rule",
    "run": "wfkit.cli.run:run",
    "schedules": "wfkit.cli.schedules:schedules",
    "versions": "wfkit.cli.versions:versions",
    "send-event": "wfkit.cli.runs:send_event",
    "serve": "wfkit.cli.serve:serve",
    "show": "wfkit.cli.show:show",
    "skip-step": "wfkit.cli.runs:skip_step",
    "worker": "wfkit.cli.worker:worker",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not _available(name):
            return None
        module_name, _, attr = target.partition(":")
        return getattr(importlib.import_module(module_name), attr)


def _available(name: str) -> bool:
    """A command is listed once its module exists (commands land one issue at a time)."""
    module_name = COMMANDS[name].partition(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="wfkit")
@click.option("-v", "--verbose", count=True, help="Say more (repeat for more).")
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.option(
    "--color/--no-color",
    default=None,
    help="Force colour on or off (default: on for a terminal, off with NO_COLOR).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Read settings from this pyproject.toml instead of searching for one.",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="Where runs are kept, for the engine commands that follow "
    "(as their own --store; env WFKIT_STORE).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    verbose: int,
    quiet: bool,
    color: bool | None,
    config: str | None,
    store_url: str | None,
) -> None:
    """wfkit: durable workflows you can ship — engine, determinism linter, test harness."""
    from wfkit.cli.app import App

    if color is None and os.environ.get("NO_COLOR"):
        color = False
    ctx.obj = App(
        verbosity=-1 if quiet else verbose, color=color, config=config, store_url=store_url
    )


def main(argv: list[str] | None = None) -> Any:
    from wfkit.cli.app import run_cli

    return run_cli(cli, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
