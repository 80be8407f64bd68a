"""Keeping leases alive while activations run.

One background thread per engine extends the leases of the runs this process is executing,
every third of the lease. A run whose lease cannot be extended is simply dropped from the set:
its activation's next (fenced) checkpoint fails with ``LeaseLost`` and stops it, so a stalled
worker can never overwrite the work of the one that took its run over.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from wfkit.clock import Clock
from wfkit.store.base import Store


class Heartbeat:
    def __init__(self, store: Store, clock: Clock, owner: str, lease_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self._owner = owner
        self._lease = lease_seconds
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str) -> None:
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="wfkit-heartbeat",
                                                daemon=True)
                self._thread.start()

    def discard(self, run_id: str) -> None:
        with self._lock:
            self._runs.discard(run_id)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _loop(self) -> None:
        interval = max(0.05, self._lease / 3)
        # Real time, not the injected clock: a virtual clock must not spin this thread.
        while not self._stop.wait(interval):
            with self._lock:
                runs = sorted(self._runs)
            if not runs:
                continue
            now = self._clock.now()
            try:
                held = self._store.heartbeat(self._owner, runs, now + timedelta(
                    seconds=self._lease), now)
            except Exception:  # a transient store error: the next beat tries again
                continue
            with self._lock:
                self._runs.difference_update(set(runs) - held)
