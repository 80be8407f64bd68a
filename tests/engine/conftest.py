"""Engines on real stores with virtual time, as factories (safe to reuse under @given)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.store.memory import MemoryStore


@pytest.fixture(params=["memory", "sqlite"])
def make_engine(request: pytest.FixtureRequest, tmp_path) -> Callable[..., Engine]:
    engines: list[Engine] = []
    counter = iter(range(10_000))

    def make(**options) -> Engine:
        if request.param == "memory":
            store = MemoryStore()
        else:
            store = f"sqlite:///{tmp_path}/wf-{next(counter)}.db"
        options.setdefault("clock", ManualClock())
        options.setdefault("rng", random.Random(7))
        engine = Engine(store, **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine()
