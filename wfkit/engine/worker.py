"""Keeping leases alive while activations run, and knowing when one is gone.

One background thread per engine extends the leases of the runs this process is executing,
every third of the lease. A run whose lease the store no longer extends (another worker took
it over, or it expired while this process was paused) is *lost*: its activation's next fenced
checkpoint fails with ``LeaseLost`` and stops it, so a stalled worker can never overwrite the
work of the one that took its run over.

Fencing stops writes, not the step body running in this process. :meth:`Heartbeat.lost` lets
that body notice (``wfkit.step_info().lease_lost()``): True once the store refused a renewal,
or once the last renewal that went through (or the claim) is a full lease old by this
engine's clock, so the lease may have expired before it could be renewed (a paused process,
a store that stopped answering). The verdict is final for the activation: once a step has
been told, the activation writes nothing more (see ``Activation.commit``), so what the step
returns or raises after it noticed can never be recorded, even in the moment a late renewal
would still have gone through.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from wfkit.engine.clock import Clock
from wfkit.engine.core.store_faults import StoreHealth
from wfkit.engine.store.base import Store


class Heartbeat:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        owner: str,
        lease_seconds: float,
        *,
        health: StoreHealth | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._owner = owner
        self._lease = timedelta(seconds=lease_seconds)
        self._health = health
        # Under a virtual clock (tests) time jumps while this thread beats in real time, so
        # only the store's answers say a lease is lost, never the lease's age.
        self._by_age = not getattr(clock, "virtual", False)
        # run id -> until when the lease surely holds (the last claim or renewal sent + lease)
        self._runs: dict[str, datetime] = {}
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str, claimed_at: datetime | None = None) -> None:
        """Keep ``run_id``'s lease alive; ``claimed_at`` is the time the claim was sent."""
        since = claimed_at if claimed_at is not None else self._clock.now()
        with self._lock:
            self._runs[run_id] = since + self._lease
            self._lost.discard(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._loop, name="wfkit-heartbeat", daemon=True
                )
                self._thread.start()

    def discard(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)
            self._lost.discard(run_id)

    def lost(self, run_id: str) -> bool:
        """Whether this process's lease on ``run_id`` is (or may be) gone; once True, True
        until the run leaves this process (see the module docstring)."""
        with self._lock:
            if run_id in self._lost:
                return True
            until = self._runs.get(run_id)
            if until is None or not self._by_age or self._clock.now() <= until:
                return False
            self._lost.add(run_id)
            return True

    def given_up(self, run_id: str) -> bool:
        """Whether ``lost`` has said so (no clock read: a checkpoint asks this every time)."""
        return run_id in self._lost

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _loop(self) -> None:
        interval = max(0.05, self._lease.total_seconds() / 3)
        # Real time, not the injected clock: a virtual clock must not spin this thread.
        while not self._stop.wait(interval):
            with self._lock:
                runs = sorted(r for r in self._runs if r not in self._lost)
            if not runs:
                continue
            now = self._clock.now()
            try:
                held = self._store.heartbeat(self._owner, runs, now + self._lease, now)
            except Exception as exc:  # a transient store error: the next beat tries again
                if self._health is not None:
                    self._health.failed(exc, interval, self._clock.now())
                continue
            if self._health is not None:
                self._health.answered(self._clock.now())
            with self._lock:
                for run_id in runs:
                    if run_id not in self._runs:
                        continue  # its activation ended meanwhile
                    if run_id in held:
                        self._runs[run_id] = max(self._runs[run_id], now + self._lease)
                    else:
                        self._lost.add(run_id)
