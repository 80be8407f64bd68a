"""The plugin's fixtures: ``wf_context``, ``wf_context_factory``, ``wf_engine``, ``wf_ledger``,
``wf_temporal_env``.

Loaded by the entry module in every project that has wfkit installed, so this module imports
only pytest at load; the harness and the engine are imported when a fixture is first used.

Hypothesis does not reset function-scoped fixtures between the examples of one ``@given`` test,
and a ``TestWorkflowContext`` runs one workflow only: under ``@given`` take
``wf_context_factory`` and call it once per example.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from wfkit.engine.engine import Engine
    from wfkit.testing.context import TestWorkflowContext
    from wfkit.testing.ledger import Ledger
    from wfkit.testing.temporal import TemporalTestEnvironment

__all__ = ["wf_context", "wf_context_factory", "wf_engine", "wf_ledger", "wf_temporal_env"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@pytest.fixture(scope="session")
def wf_context_factory(pytestconfig: pytest.Config) -> Callable[..., TestWorkflowContext]:
    """A callable returning a fresh ``TestWorkflowContext(**kwargs)`` per call.

    Session-scoped so that Hypothesis accepts it under ``@given`` (its health check rejects
    function-scoped fixtures, which it cannot reset between examples); it holds no state a
    test could leak into the next one. With ``--wfkit-record-histories DIR`` every context
    writes its finished runs under ``DIR/<test id>/<n>/``, one folder per context, so that two
    contexts in one test (or the examples of a ``@given`` test) never overwrite each other.
    """
    record = pytestconfig.getoption("wfkit_record_histories", None)
    numbers: dict[str, itertools.count[int]] = {}

    def make(**kwargs: Any) -> TestWorkflowContext:
        # The public names, as the test imports them: the class the package exports is the
        # one a fixture's object must be an instance of (see wf_ledger).
        from wfkit.testing import TestWorkflowContext

        if record and kwargs.get("history_dir") is None:
            test = _current_test()
            number = next(numbers.setdefault(test, itertools.count(1)))
            kwargs["history_dir"] = Path(record) / _safe_name(test) / str(number)
        return TestWorkflowContext(**kwargs)

    return make


@pytest.fixture
def wf_context(wf_context_factory: Callable[..., TestWorkflowContext]) -> TestWorkflowContext:
    """A fresh ``TestWorkflowContext`` with the defaults (virtual time from 2026-01-01 UTC).

    One per test: under ``@given`` use ``wf_context_factory`` instead.
    """
    return wf_context_factory()


@pytest.fixture
def wf_engine(tmp_path: Path) -> Iterator[Engine]:
    """A real ``Engine`` on a fresh SQLite file in ``tmp_path``, closed after the test."""
    from wfkit import Engine

    engine = Engine(f"sqlite:///{tmp_path / 'wfkit.db'}")
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def wf_ledger() -> Ledger:
    """A fresh ``Ledger`` for the test's fake services (reset it in ``verify(setup=...)``)."""
    # Through the package, as tests import it: the package keeps the class it exported once,
    # so a module imported afresh later (pytester drops the modules its runs imported) would
    # make another class, and ``isinstance(wf_ledger, Ledger)`` fail.
    from wfkit.testing import Ledger

    return Ledger()


@pytest.fixture
def wf_temporal_env() -> Iterator[Callable[..., TemporalTestEnvironment]]:
    """Makes ``TemporalTestEnvironment(**options)`` for the test (needs ``wfkit[temporal]``).

    A maker rather than an environment, because an environment is built with its workflows
    and activities. At teardown every history the test's environments recorded goes through
    temporalio's own ``Replayer``; one that does not replay cleanly fails the test.
    """
    made: list[TemporalTestEnvironment] = []

    def make(**options: Any) -> TemporalTestEnvironment:
        from wfkit.testing.temporal import TemporalTestEnvironment

        env = TemporalTestEnvironment(**options)
        made.append(env)
        return env

    yield make
    if made:
        from wfkit.testing.temporal.replay import replay_failures

        failures = {k: v for env in made for k, v in replay_failures(env).items()}
        if failures:
            lines = "\n".join(f"  {run}: {why}" for run, why in sorted(failures.items()))
            pytest.fail(f"recorded Temporal histories do not replay in temporalio:\n{lines}")


def _current_test() -> str:
    """The running test's id: pytest publishes it in ``PYTEST_CURRENT_TEST`` ("id (call)")."""
    return os.environ.get("PYTEST_CURRENT_TEST", "outside-a-test").rsplit(" (", 1)[0]


def _safe_name(nodeid: str) -> str:
    """A test id as one directory name: ``tests/test_x.py::test_y[1]`` -> ``tests_test_x.py__
    test_y_1``; stable, so re-running a test overwrites its own histories."""
    return _UNSAFE.sub("_", nodeid.replace("::", "__")).strip("_") or "test"
