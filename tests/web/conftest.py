"""Fixtures for the web tests: a server (the ASGI app) on a real store, the test workflows
(fixtures/web/flows.py), and a virtual-clock engine that drives runs to their end."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.web.app import create_app
from wfkit.web.loading import load_paths
from wfkit.web.security import Guard

FLOWS = str(Path(__file__).resolve().parents[2] / "fixtures" / "web" / "flows.py")


@pytest.fixture
def flows() -> Iterator[list[Any]]:
    """The test workflows, with their repair switches reset after the test."""
    workflows = load_paths([FLOWS])
    switches = sys.modules[workflows[0].fn.__module__].SWITCHES
    saved = dict(switches)
    yield workflows
    switches.update(saved)


@pytest.fixture
def switches(flows: list[Any]) -> dict[str, bool]:
    return sys.modules[flows[0].fn.__module__].SWITCHES  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL: an SQLite file (tests that also run on PostgreSQL parametrize this)."""
    if request.param == "postgres":
        database = request.getfixturevalue("postgres_database")
        return str(database.new_url())
    return f"sqlite:///{tmp_path / 'wfkit.db'}"


@pytest.fixture
def engine(store_url: str, flows: list[Any]) -> Iterator[Engine]:
    with Engine(store_url, workflows=flows) as eng:
        yield eng


@pytest.fixture
def serve(engine: Engine, flows: list[Any]) -> Iterator[Callable[..., TestClient]]:
    """``serve(guard=..., workers=...)``: a test client on the app (its lifespan running)."""
    opened: list[TestClient] = []

    def make(*, guard: Guard | None = None, workers: int = 0, **client: Any) -> TestClient:
        app = create_app(engine, flows, guard=guard, workers=workers, idle_interval=0.05)
        test_client = TestClient(app, **client)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in reversed(opened):
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(serve: Callable[..., TestClient]) -> TestClient:
    return serve()


@pytest.fixture
def drive(store_url: str, flows: list[Any]) -> Callable[[str], Any]:
    """Run a run to its end here, on virtual time (retry delays cost nothing)."""

    def run(run_id: str) -> Any:
        with Engine(
            store_url, workflows=flows, clock=ManualClock(datetime.now(timezone.utc))
        ) as eng:
            try:
                return eng.result(run_id, timeout=30)
            except Exception as exc:  # RunFailed: the tests look at the stored run
                return exc

    return run
