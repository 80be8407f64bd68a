"""``wfkit prune --older-than 30d``: delete finished runs, so a store does not grow forever.

Deleting is the one thing wfkit does that cannot be undone, so the command is narrow by
default: only runs that finished long enough ago, never a FAILED run unless asked (it waits for
a person), never a run whose parent or child is still live; ``--dry-run`` lists first.
"""

from __future__ import annotations

import re
from datetime import timedelta

import click

from wfkit.cli.app import App, abort
from wfkit.cli.engine_options import open_engine, say, store_option, when

_FINISHED = ("COMPLETED", "COMPENSATED", "CANCELLED", "FAILED")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Timestamps go back to the year 1; a cutoff before it cannot be computed (nor can match).
_LONGEST = 9000 * 365 * _UNITS["d"]
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([wdhms]))+")


def parse_duration(text: str, option: str = "--older-than") -> float:
    """``30d``, ``12h``, ``1d12h``, ``90m``, ``45s``, ``2w`` -> seconds."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.fullmatch(compact) is None:
        abort(
            f"invalid duration {text!r} for {option}",
            hint="use a number and a unit: 30d, 12h, 1d12h, 90m, 45s or 2w",
        )
    seconds = sum(
        float(number) * _UNITS[unit]
        for number, unit in re.findall(r"(\d+(?:\.\d+)?)([wdhms])", compact)
    )
    if not seconds <= _LONGEST:
        abort(
            f"{option} {text if len(text) <= 24 else text[:21] + '...'} is longer than "
            "wfkit can count back",
            hint=f"use at most {_LONGEST // _UNITS['d']:.0f}d (about 9,000 years)",
        )
    return seconds


@click.command("prune")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="DURATION",
    help="Delete runs that finished longer ago than this: 30d, 12h, 1d12h, 90m, 2w.",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_FINISHED, case_sensitive=False),
    help="Only runs with this status (repeatable; default: COMPLETED, COMPENSATED "
    "and CANCELLED; FAILED runs are kept unless named).",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@store_option
@click.pass_obj
def prune(
    app: App, older_than: str, statuses: tuple[str, ...], dry_run: bool, store_url: str
) -> None:
    """Delete runs that finished more than --older-than ago, with their history.

    \b
    wfkit prune --older-than 30d --dry-run
    wfkit prune --older-than 30d
    wfkit prune --older-than 90d --status FAILED

    Prints the ids (oldest finish first) on stdout and a summary on stderr. A run whose
    parent or child is still live is kept. SQLite reuses the freed space for new runs; the
    file itself shrinks only with VACUUM (sqlite3 wfkit.db VACUUM, with no worker running).
    """
    from wfkit.engine.engine import PRUNED_BY_DEFAULT

    seconds = parse_duration(older_than)
    wanted = sorted({s.upper() for s in statuses}) or sorted(s.value for s in PRUNED_BY_DEFAULT)
    with open_engine(store_url, access="read" if dry_run else "existing") as engine:
        before = engine.clock.now() - timedelta(seconds=seconds)
        ids = engine.prune(seconds, statuses=wanted, dry_run=dry_run)
    for run_id in ids:
        click.echo(run_id)
    verb = "would delete" if dry_run else "deleted"
    say(
        app,
        f"{verb} {len(ids)} run{'' if len(ids) == 1 else 's'} ({', '.join(wanted)}) "
        f"that finished before {when(before)}",
    )
