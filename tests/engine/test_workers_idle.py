"""An idle worker waits between looks at the store instead of spinning.

A run that woke up (an event arrived, a timer fired) keeps its past ``wake_at`` while another
worker holds its lease and runs it; runs of workflows this worker does not know can be due too.
Neither is work this engine can claim, so it must not make the engine poll in a tight loop.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from wfkit import Context, workflow
from wfkit.engine.engine import Engine
from wfkit.engine.store import open_store

IDLE = 0.1
WATCH = 0.6
# Each idle pass claims once; allow generous slack for a slow machine, far below a spin.
MAX_CLAIMS = int(WATCH / IDLE) * 3 + 5


@workflow
def waiter(ctx: Context) -> object:
    return ctx.wait_for_event("go", timeout=3600)


@workflow
def unrelated(ctx: Context) -> int:
    return 1


class CountingStore:
    """Delegates to a real store, counting claims (one per pass of the worker loop)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.url = inner.url
        self.claims = 0

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        self.claims += 1
        return self._inner.claim(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def a_woken_run_leased_elsewhere(url: str) -> None:
    """A 'waiter' run whose event arrived and which another worker is running right now."""
    with Engine(url, workflows=[waiter]) as other:
        other.start(waiter, workflow_id="w1")
        assert other.work_once()
        assert other.get_run("w1").status.value == "WAITING"
        other.send_event("w1", "go", 1)
        now = other.clock.now()
        assert other.store.claim("someone-else", now, now + timedelta(seconds=60), run_id="w1")


def claims_while_idle(engine: Engine, store: CountingStore) -> int:
    stop = threading.Event()
    thread = threading.Thread(
        target=engine.run_worker, kwargs={"stop": stop, "idle_interval": IDLE}, daemon=True
    )
    before = store.claims
    thread.start()
    time.sleep(WATCH)
    stop.set()
    thread.join(timeout=5)
    return store.claims - before


@pytest.mark.slow
def test_an_idle_worker_with_nothing_due_polls_at_its_idle_interval(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    store = CountingStore(open_store(url))
    with Engine(store, workflows=[unrelated]) as engine:  # type: ignore[arg-type]
        assert claims_while_idle(engine, store) <= MAX_CLAIMS


@pytest.mark.slow
def test_an_idle_worker_does_not_spin_on_a_run_leased_by_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    a_woken_run_leased_elsewhere(url)
    store = CountingStore(open_store(url))
    with Engine(store, workflows=[unrelated]) as engine:  # type: ignore[arg-type]
        assert claims_while_idle(engine, store) <= MAX_CLAIMS


@pytest.mark.slow
def test_waiting_for_a_result_does_not_spin_while_another_worker_runs_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    a_woken_run_leased_elsewhere(url)
    store = CountingStore(open_store(url))
    with Engine(store, workflows=[waiter]) as engine:  # type: ignore[arg-type]
        with pytest.raises(TimeoutError):
            engine.result("w1", timeout=WATCH)
    polls = WATCH / engine.poll_interval
    assert store.claims <= polls * 2 * 2 + 5  # result() may claim twice per poll
