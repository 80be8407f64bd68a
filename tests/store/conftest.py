"""One contract suite for every store backend.

``STORE_FACTORIES`` lists the backends; each test that asks for ``store`` runs once per entry.
A backend joins the suite with one entry, e.g. PostgreSQL::

    pytest.param(_postgres, id="postgres", marks=pytest.mark.postgres),

A factory takes a fresh temporary directory and returns an open, empty store.

PostgreSQL runs on the server named by ``WFKIT_TEST_POSTGRES_URL`` (a user allowed to create
databases); without it, the session starts a throwaway server of its own from the PostgreSQL
binaries on PATH (or in /usr/lib/postgresql/*/bin) on 127.0.0.1, in a temporary directory.
Either way the session works in a database of its own, dropped at the end, and every store
gets a fresh schema in it (milliseconds, where a database per store would take a second).
Those session fixtures (``postgres_server``, ``postgres_database``) live in tests/conftest.py,
so the engine's process tests reach the same server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfkit.engine.store.base import Store
from wfkit.engine.store.memory import MemoryStore
from wfkit.engine.store.sqlite import SqliteStore


def _memory(tmp: Path) -> Store:
    return MemoryStore()


def _sqlite(tmp: Path) -> Store:
    return SqliteStore(f"sqlite:///{tmp / 'wfkit.db'}")


def _postgres(tmp: Path) -> Store:
    """A placeholder: the store fixtures swap in ``postgres_database.new_store``, because a
    PostgreSQL store needs the session's server, which a plain function cannot reach."""
    raise AssertionError("use the store_factory or backend_factory fixture")


STORE_FACTORIES = [
    pytest.param(_memory, id="memory"),
    pytest.param(_sqlite, id="sqlite"),
    pytest.param(_postgres, id="postgres", marks=pytest.mark.postgres),
]


def _factory(
    make_store: Callable[[Path], Store],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[], Store]]:
    if make_store is _postgres:
        make_store = request.getfixturevalue("postgres_database").new_store
    opened: list[Store] = []

    def make() -> Store:
        if opened:  # examples run one after another: free the last one's connections now
            opened.pop().close()
        store = make_store(tmp_path_factory.mktemp("store"))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=STORE_FACTORIES)
def store_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Store]]:
    """Makes fresh, empty stores of one backend (a factory, so Hypothesis examples each get
    their own store); a new store closes the one before (a server allows only so many
    connections), the last one closes at teardown."""
    yield from _factory(request.param, tmp_path_factory, request)


@pytest.fixture(params=[p for p in STORE_FACTORIES if p.id != "memory"])
def backend_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Store]]:
    """Like ``store_factory``, for every backend except the reference MemoryStore."""
    yield from _factory(request.param, tmp_path_factory, request)


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    return store_factory()
