"""``wfkit serve --workers N``: the server runs runs itself, as a ``wfkit worker`` would.

One thread drives :meth:`Engine.run_worker` with ``concurrency=N``; stopping sets its stop
event and waits, so each activation in progress writes its checkpoint first (the same
graceful stop as a worker's first SIGTERM). A run cut off anyway is taken over after its lease.
"""

from __future__ import annotations

import logging
import threading

from wfkit.engine.engine import Engine

_log = logging.getLogger("wfkit.web")


class ServerWorkers:
    def __init__(self, engine: Engine, concurrency: int, idle_interval: float = 0.2) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.idle_interval = idle_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wfkit-serve-workers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.engine.run_worker(
            stop=self._stop,
            concurrency=self.concurrency,
            idle_interval=self.idle_interval,
            on_store_error=lambda error, pause: _log.warning(
                "store unavailable: %s; trying again in %gs", error.message, pause
            ),
        )

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
