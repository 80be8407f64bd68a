"""One contract suite for every store backend.

``STORE_FACTORIES`` lists the backends; each test that asks for ``store`` runs once per entry.
A backend joins the suite with one entry, e.g. PostgreSQL::

    pytest.param(_postgres, id="postgres", marks=pytest.mark.postgres),

A factory takes a fresh temporary directory and returns an open, empty store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from wfkit.store.base import Store
from wfkit.store.memory import MemoryStore
from wfkit.store.sqlite import SqliteStore


def _memory(tmp: Path) -> Store:
    return MemoryStore()


def _sqlite(tmp: Path) -> Store:
    return SqliteStore(f"sqlite:///{tmp / 'wfkit.db'}")


STORE_FACTORIES = [
    pytest.param(_memory, id="memory"),
    pytest.param(_sqlite, id="sqlite"),
]


def _factory(make_store: Callable[[Path], Store], tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def make() -> Store:
        store = make_store(tmp_path_factory.mktemp("store"))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=STORE_FACTORIES)
def store_factory(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Store]]:
    """Makes fresh, empty stores of one backend (a factory, so Hypothesis examples each get
    their own store); closes them all at teardown."""
    yield from _factory(request.param, tmp_path_factory)


@pytest.fixture(params=[p for p in STORE_FACTORIES if p.id != "memory"])
def backend_factory(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Store]]:
    """Like ``store_factory``, for every backend except the reference MemoryStore."""
    yield from _factory(request.param, tmp_path_factory)


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    return store_factory()
