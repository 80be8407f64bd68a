"""What every command shares: the App object on ``ctx.obj``, consoles, and the one abort path."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click

from wfkit.errors import WfkitError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # the shell's convention for a process stopped by SIGINT


@dataclass
class App:
    verbosity: int = 0
    color: bool | None = None
    config: str | None = None
    store_url: str | None = None  # `wfkit --store URL COMMAND`: the engine commands' default
    _consoles: dict[str, Any] = field(default_factory=dict)

    @property
    def out(self) -> Any:
        """Console for data (stdout)."""
        return self._console("out", stderr=False)

    @property
    def err(self) -> Any:
        """Console for messages (stderr)."""
        return self._console("err", stderr=True)

    def _console(self, key: str, *, stderr: bool) -> Any:
        if key not in self._consoles:
            from rich.console import Console

            self._consoles[key] = Console(
                stderr=stderr,
                no_color=self.color is False,
                force_terminal=True if self.color else None,
                highlight=False,
                soft_wrap=True,
            )
        return self._consoles[key]

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            self.err.print(message)


def abort(message: str, *, hint: str | None = None, code: int = EXIT_USAGE) -> NoReturn:
    """Leave the command with one line on stderr: the problem and, when known, the fix."""
    raise CliAbort(f"{message} ({hint})" if hint else message, code)


class CliAbort(Exception):
    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line = line
        self.code = code


def run_cli(group: click.Group, argv: list[str] | None = None) -> int:
    """Run the click group and turn every error into one line and a meaningful exit code."""
    try:
        # Without standalone mode, click returns the code of ``ctx.exit(n)`` (it does not
        # raise): a command that exits 1 for findings must come back as 1.
        returned = group.main(args=argv, prog_name="wfkit", standalone_mode=False)
        if isinstance(returned, int) and not isinstance(returned, bool):
            return returned
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.Abort:  # click's form of Ctrl-C (KeyboardInterrupt) inside a command
        click.echo("wfkit: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            # `wfkit` alone asks what wfkit can do: the help, as `wfkit --help` prints it.
            click.echo(exc.ctx.get_help())
            return EXIT_OK
        click.echo(
            f"wfkit: error: {exc.format_message()}"
            + (f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""),
            err=True,
        )
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"wfkit: error: {exc.format_message()}", err=True)
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    except CliAbort as exc:
        click.echo(f"wfkit: error: {exc.line}", err=True)
        return exc.code
    except WfkitError as exc:
        click.echo(f"wfkit: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("wfkit: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # an internal error: say so, keep the trace for bug reports
        import traceback

        traceback.print_exc(file=sys.stderr)
        click.echo(
            f"wfkit: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in wfkit; please report it with the trace above)",
            err=True,
        )
        return EXIT_INTERNAL
    return EXIT_OK
