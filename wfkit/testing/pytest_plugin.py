"""wfkit's pytest plugin (entry point ``pytest11``): hooks and options; fixtures live in
:mod:`wfkit.testing.fixtures`, the lint and replay items in :mod:`wfkit.testing.collect`.

Kept light on purpose: pytest loads it in every project that has wfkit installed, so it imports
nothing heavy (no Hypothesis, libcst, rich or engine) until a wfkit feature is actually used.
The ``wfkit-*`` Hypothesis profiles are registered by Hypothesis itself when it is imported
(see :mod:`wfkit.testing.profiles`).

Options (see docs/testing.md):

- ``--wfkit-lint``: each collected Python file with workflow code (and each helper file the
  linter finds a problem in through workflow calls) becomes a ``::wfkit-lint`` item that fails
  with the linter's findings (``[tool.wfkit.lint]`` config applies). The lint runs once, at the
  end of collection.
- ``--wfkit-histories DIR``: each ``*.json`` history under DIR becomes a ``::replay`` item,
  replayed against the workflows of ``--wfkit-workflows`` / ini ``wfkit_workflows``; a Temporal
  history (recognised by its JSON's shape) with temporalio's ``Replayer`` against the
  ``@workflow.defn`` classes there (temporalio is imported only then).
- ``--wfkit-record-histories DIR``: ``wf_context`` writes the histories of its runs to DIR.
- ini ``wfkit_ci_profile = true``: with the ``CI`` environment variable set and no profile
  asked for, load the ``wfkit-ci`` Hypothesis profile. Opt-in, because a plugin that every
  project loads must not change Hypothesis settings behind a project's back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from wfkit.testing.fixtures import (
    wf_context,
    wf_context_factory,
    wf_engine,
    wf_ledger,
    wf_temporal_env,
)
from wfkit.testing.profiles import CI_PROFILE, register_profiles

__all__ = ["wf_context", "wf_context_factory", "wf_engine", "wf_ledger", "wf_temporal_env"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wfkit", "wfkit durable workflows")
    group.addoption(
        "--wfkit-lint",
        action="store_true",
        default=False,
        help="lint each collected file with workflow code (item <file>::wfkit-lint)",
    )
    group.addoption(
        "--wfkit-histories",
        action="append",
        default=[],
        metavar="DIR",
        help="replay each *.json history under DIR against current code (repeatable)",
    )
    group.addoption(
        "--wfkit-workflows",
        action="append",
        default=[],
        metavar="MODULE[,MODULE...]",
        help="modules (dotted names or .py files) defining the workflows that "
        "--wfkit-histories replays; overrides the wfkit_workflows ini key",
    )
    group.addoption(
        "--wfkit-record-histories",
        default=None,
        metavar="DIR",
        help="wf_context writes the history of every run under DIR/<test id>/",
    )
    parser.addini(
        "wfkit_workflows",
        type="args",
        default=[],
        help="modules defining the workflows that --wfkit-histories replays",
    )
    parser.addini(
        "wfkit_ci_profile",
        type="bool",
        default=False,
        help="load the wfkit-ci Hypothesis profile when $CI is set and no profile is asked for",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "workflow: a test that runs a durable workflow through wfkit"
    )
    if (
        config.getini("wfkit_ci_profile")
        and os.environ.get("CI")
        and not config.getoption("hypothesis_profile", None)
    ):
        from hypothesis import settings

        register_profiles()  # also when HYPOTHESIS_NO_PLUGINS skipped the entry point
        settings.load_profile(CI_PROFILE)
    for directory in config.getoption("wfkit_histories"):
        if not Path(directory).is_dir():
            raise pytest.UsageError(f"--wfkit-histories {directory}: no such directory")
    if config.getoption("wfkit_lint") or config.getoption("wfkit_histories"):
        from wfkit.testing import collect

        config.stash[collect.LINT_SESSION] = collect.LintSession(config)
        config.stash[collect.WORKFLOW_INDEX] = collect.WorkflowIndex(_workflow_modules(config))


def pytest_report_header(config: pytest.Config) -> str:
    """The version, and the Hypothesis profile once Hypothesis is loaded (by ``-v``, a
    Hypothesis option or wfkit_ci_profile; otherwise it is chosen when a test imports it)."""
    from wfkit import __version__

    if "hypothesis" not in sys.modules and config.option.verbose < 1:
        return f"wfkit {__version__}"
    from hypothesis import settings

    return f"wfkit {__version__}: hypothesis profile {settings.get_current_profile_name()}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per ``verify`` call: how many examples, how they ended, how many crashed (a
    ``verify`` whose examples all end one way tested less than it seems)."""
    outcomes = sys.modules.get("wfkit.testing.outcomes")
    if outcomes is None or not outcomes.reported:
        return
    terminalreporter.section("wfkit verify")
    for test, line in outcomes.reported:
        terminalreporter.line(f"{test}: {line}" if test else line)
    outcomes.reported.clear()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    if file_path.suffix != ".py" or not parent.config.getoption("wfkit_lint"):
        return None
    from wfkit.testing import collect

    if not parent.config.stash[collect.LINT_SESSION].visit(file_path):
        return None
    return collect.LintFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so those select our items too
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption("wfkit_lint"):
        from wfkit.testing.collect import lint_helper_items

        items.extend(lint_helper_items(session))
    directories = config.getoption("wfkit_histories")
    if directories:
        from wfkit.testing.collect import history_items

        items.extend(history_items(session, directories))


def _workflow_modules(config: pytest.Config) -> list[str]:
    given = config.getoption("wfkit_workflows") or config.getini("wfkit_workflows")
    return [name.strip() for value in given for name in value.split(",") if name.strip()]
