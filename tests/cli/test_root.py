"""The root command: version, help, and the exit code of a usage error."""

from __future__ import annotations

import subprocess
import sys

from wfkit import __version__
from wfkit.cli.main import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-command" in err and "--help" in err


def test_no_arguments_prints_the_help_and_nothing_else(capsys):
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("Usage: wfkit [OPTIONS] COMMAND [ARGS]...")
    assert main(["--help"]) == 0
    assert capsys.readouterr().out == out  # the same help as `wfkit --help`


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run(
        [sys.executable, "-m", "wfkit", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and __version__ in done.stdout


def test_a_command_exit_code_survives_the_error_handling():
    import click

    from wfkit.cli.app import run_cli

    @click.group()
    def group() -> None:
        pass

    @group.command()
    @click.pass_context
    def findings(ctx: click.Context) -> None:
        ctx.exit(1)

    @group.command()
    def clean() -> None:
        pass

    assert run_cli(group, ["findings"]) == 1
    assert run_cli(group, ["clean"]) == 0
