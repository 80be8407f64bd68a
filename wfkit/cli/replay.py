"""``wfkit replay HISTORY... --workflow MODULE:WORKFLOW``: does today's code still replay
yesterday's runs?

Each exported history is replayed against the current workflow code without executing
anything (recorded results stand in for every operation). A divergence is the bug a deploy
would hit on every in-flight run, so it is exit 1, one line per file; a malformed file or a
history of another workflow is an input error (exit 2) found before anything is replayed.
"""

from __future__ import annotations

import click

from wfkit.cli.app import EXIT_FAILURE, App, abort


@click.command("replay")
@click.argument(
    "histories", nargs=-1, required=True, metavar="HISTORY...", type=click.Path(dir_okay=False)
)
@click.option(
    "--workflow",
    "target",
    required=True,
    metavar="MODULE:WORKFLOW",
    help="The workflow code to replay the histories against.",
)
@click.pass_obj
def replay(app: App, histories: tuple[str, ...], target: str) -> None:
    """Replay exported histories (from `wfkit export ID`) against current workflow code.

    Prints `FILE: ok` or `FILE: DIVERGED: <what differs>` per file; exit 1 if any diverged.
    """
    from wfkit.engine.history import load_histories
    from wfkit.engine.history import replay as replay_history
    from wfkit.engine.loader import load_workflow
    from wfkit.errors import WfkitError

    wf = load_workflow(target)
    loaded = load_histories(list(histories))
    for path, history in loaded:
        if history.run.workflow != wf.name:
            abort(
                f"{path} is a history of workflow {history.run.workflow!r}, not {wf.name!r}",
                hint="pass --workflow MODULE:WORKFLOW for the workflow that made the run",
            )
    diverged = 0
    for path, history in loaded:
        try:
            outcome = replay_history(history, wf)
        except WfkitError as exc:
            diverged += 1
            click.echo(f"{path}: DIVERGED: {exc.one_line()}")
            continue
        count = outcome.operations_replayed
        note = (
            ""
            if outcome.reached_end
            else f" (in flight: replayed {count} operation{'' if count == 1 else 's'})"
        )
        click.echo(f"{path}: ok{note}")
    if diverged:
        abort(
            f"{diverged} of {len(loaded)} histories diverged from the current code",
            hint="make the change replay-safe with ctx.patched(), or keep the old code until "
            "those runs finish",
            code=EXIT_FAILURE,
        )
