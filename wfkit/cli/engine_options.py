"""What the engine commands share: ``--store``, opening an engine, reading JSON arguments.

Kept free of engine imports at module level: ``wfkit --help`` imports every command module
to list it, and must stay instant.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wfkit.engine.progress import duration, when  # noqa: F401 - the commands' table texts
from wfkit.engine.run_json import iso as iso  # the CLI's commands take it from here
from wfkit.errors import UsageError

if TYPE_CHECKING:
    from wfkit.engine.definitions import WorkflowDef
    from wfkit.engine.engine import Engine
    from wfkit.engine.store.base import Store

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_STORE_URL = "sqlite:///wfkit.db"  # the same as wfkit.engine.store.DEFAULT_STORE_URL


def store_option(fn: F) -> F:
    """``--store URL`` (env ``WFKIT_STORE``), on every command that touches runs.

    ``wfkit --store URL COMMAND`` works too: the command's own ``--store`` wins, then the
    root's, then ``WFKIT_STORE``, then the default.
    """
    return click.option(
        "--store",
        "store_url",
        cls=_StoreOption,
        envvar="WFKIT_STORE",
        default=DEFAULT_STORE_URL,
        show_default=True,
        metavar="URL",
        help="Where runs are kept: sqlite:///path.db or postgresql://host/db "
        "(env WFKIT_STORE; also `wfkit --store URL COMMAND`).",
    )(fn)


class _StoreOption(click.Option):
    """Falls back to the root group's ``--store`` before the environment and the default."""

    def consume_value(self, ctx: click.Context, opts: Any) -> tuple[Any, Any]:
        value, source = super().consume_value(ctx, opts)
        given = getattr(ctx.find_root().obj, "store_url", None)
        if given is not None and source is not click.core.ParameterSource.COMMANDLINE:
            return given, source
        # A bad URL nobody typed is a puzzle unless the error says where it came from.
        ctx.meta[_FROM_ENVIRONMENT] = source is click.core.ParameterSource.ENVIRONMENT
        return value, source


_FROM_ENVIRONMENT = "wfkit.store_from_environment"


def workflow_module_option(fn: F) -> F:
    """``--module MODULE`` (repeatable): where a stored run's workflow is defined, for the
    commands that bind a new input to it (``fork --input``, ``retry --input``)."""
    return click.option(
        "--module",
        "modules",
        multiple=True,
        metavar="MODULE",
        help="Where the run's workflow is defined (as `wfkit worker` takes it), to bind --input.",
    )(fn)


def format_option(formats: type[Enum]) -> Callable[[F], F]:
    """``--format`` from an enum of output formats (the first member is the default)."""
    choices = [member.value for member in formats]
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
        callback=lambda ctx, param, value: formats(value),
    )


@contextmanager
def open_engine(
    store_url: str,
    *,
    workflows: Sequence[WorkflowDef[Any]] = (),
    access: str = "create",
    missing: UsageError | None = None,
    **options: Any,
) -> Iterator[Engine]:
    """An engine on ``store_url``, closed on exit.

    ``access`` is what opening may do to the store (``wfkit.engine.store.open_store``): commands
    that only look at runs use ``read`` and those that repair them ``existing``, so a mistyped path
    or an empty file is an input error rather than a new database left behind, and looking
    never upgrades a store; ``missing`` is the error to raise then instead of the store's.
    """
    from wfkit.engine.engine import Engine

    store = _open(store_url, access, missing)
    try:
        engine = Engine(store, workflows=workflows, **options)
    except BaseException:
        store.close()
        raise
    try:
        yield engine
    finally:
        engine.close()


@contextmanager
def open_store_only(
    store_url: str, *, access: str = "read", missing: UsageError | None = None
) -> Iterator[Store]:
    """The store alone, closed on exit, for commands that only read it (`wfkit list`): the
    engine's import costs more than the listing itself."""
    store = _open(store_url, access, missing)
    try:
        yield store
    finally:
        store.close()


def _open(store_url: str, access: str, missing: UsageError | None) -> Store:
    from wfkit.engine.store import open_store
    from wfkit.errors import NoStore, StoreError

    try:
        return open_store(store_url, access=access)
    except NoStore:
        if missing is not None:
            raise missing from None
        _name_the_environment()
        raise
    except StoreError:
        _name_the_environment()
        raise


def _name_the_environment() -> None:
    """Add to the store error being handled that its URL came from ``WFKIT_STORE``."""
    exc = sys.exc_info()[1]
    ctx = click.get_current_context(silent=True)
    if not isinstance(exc, UsageError) or ctx is None or not ctx.meta.get(_FROM_ENVIRONMENT):
        return
    exc.message = f"WFKIT_STORE: {exc.message}"
    exc.hint = (
        f"{exc.hint}; or " if exc.hint else ""
    ) + "fix or unset WFKIT_STORE, or pass --store URL"
    exc.args = (exc.message,)


def parse_json_option(text: str | None, option: str) -> Any:
    """Parse a JSON option value; ``@path`` reads the JSON from a file (``@-``: stdin)."""
    if text is None:
        return None
    source = f"{option} value"
    if text.startswith("@"):
        path = text[1:]
        source = "stdin" if path == "-" else path
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
        except OSError as exc:
            raise UsageError(
                f"cannot read {option} file {path}: {exc.strerror}", hint="check the path after '@'"
            ) from None
        except UnicodeDecodeError:
            raise UsageError(
                f"{option} file {path} is not UTF-8 text", hint="save the JSON as UTF-8"
            ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UsageError(
            f"{option} is not valid JSON ({exc}): {shown!r}"
            if source.endswith("value")
            else f"{option} file {source} is not valid JSON ({exc})",
            hint="quote it for your shell, e.g. " + option + ' \'{"key": "value"}\', '
            "or pass @file.json",
        ) from None


def say(app: Any, message: str) -> None:
    """A message for people (stderr), unless ``-q``; never parsed as rich markup."""
    if app.verbosity >= 0:
        app.err.print(message, markup=False)


def to_json(value: Any) -> str:
    """Data for stdout: sorted keys, so output is stable and diffable."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


_STATUS_STYLES = {
    "COMPLETED": "green",
    "FAILED": "red",
    "COMPENSATED": "yellow",
    "CANCELLED": "yellow",
    "COMPENSATING": "yellow",
    "RETRYING": "yellow",
    "SKIPPED": "magenta",
}


def status_text(value: str) -> Any:
    from rich.text import Text

    # "RUNNING (paused)" is styled as RUNNING: the note beside it is not a status of its own.
    return Text(value, style=_STATUS_STYLES.get(value.split(" ", 1)[0], ""))


def print_table(app: Any, table: Any) -> None:
    """Print a rich table to stdout; off a terminal, as wide as it needs (never truncated).

    Rich pads every cell to its column's width, the last one too: each line is rendered, then
    written without its trailing spaces (which would otherwise end every `list` and `show`
    line, and every diff of their output).
    """
    console = app.out
    before = console.width
    if not console.is_terminal:
        from rich.measure import Measurement

        width = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console.width = max(before, width)  # print() never goes wider than the console
    try:
        with console.capture() as captured:
            console.print(table)
    finally:
        console.width = before
    text = _TRAILING.sub(lambda end: "".join(_CODE.findall(end.group())), captured.get())
    console.file.write(text)
    console.file.flush()


def print_rows(app: Any, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    """A borderless table of one-line cells (``columns``: header and "left"/"right"; cells:
    strings or rich Text), laid out as :func:`print_table` lays out such a table, without
    rich's Table: it measures and renders every cell through its layout engine, a second
    for 1,000 runs. Off a terminal the lines are written as plain text; on one, with the cells'
    styles and bold headers, and never truncated."""
    from rich.cells import cell_len
    from rich.text import Text

    header = [Text(name, style="table.header") for name, _ in columns]
    cells = [[c if isinstance(c, Text) else Text(str(c)) for c in row] for row in rows]
    widths = [
        max(cell_len(line[i].plain) for line in [header, *cells]) for i in range(len(columns))
    ]
    right = [justify == "right" for _, justify in columns]
    console = app.out
    if not console.is_terminal:
        lines = []
        for line in [header, *cells]:
            parts = [
                " " * (w - cell_len(t.plain)) + t.plain
                if r
                else t.plain + " " * (w - cell_len(t.plain))
                for t, w, r in zip(line, widths, right)
            ]
            lines.append("  ".join(parts).rstrip(" ") + "\n")
        console.file.write("".join(lines))
        console.file.flush()
        return
    with console.capture() as captured:
        for line in [header, *cells]:
            text = Text()
            for i, (t, w, r) in enumerate(zip(line, widths, right)):
                pad = " " * (w - cell_len(t.plain))
                if r:
                    text.append(pad)
                text.append_text(t)
                if not r:
                    text.append(pad)
                if i < len(line) - 1:
                    text.append("  ")
            console.print(text, overflow="ignore", crop=False, no_wrap=True)
    printed = _TRAILING.sub(lambda end: "".join(_CODE.findall(end.group())), captured.get())
    console.file.write(printed)
    console.file.flush()


# The end of a line made of spaces and colour codes: the codes are kept, the spaces dropped.
_CODE = re.compile(r"\x1b\[[0-9;]*m")
_TRAILING = re.compile(r"(?:[ ]|\x1b\[[0-9;]*m)+$", re.MULTILINE)
