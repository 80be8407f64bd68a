"""Running the application under uvicorn, stopping it the way ``wfkit worker`` stops.

The first SIGTERM or SIGINT stops accepting connections and lets the requests in flight
finish (each is one store transaction, so none leaves a half-written run), then the
application's shutdown stops the ``--workers`` threads after their activations; the command
then exits 0. A second signal quits at once. uvicorn's own handling would re-raise the
signal after a clean shutdown, and the process would end as killed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: Any) -> None:
            if self.should_exit:
                self.force_exit = True
                return
            self.should_exit = True
            self._announce()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def run_server(
    app: Any, *, host: str, port: int, announce: Callable[[], None], graceful_seconds: int = 30
) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=graceful_seconds,
        server_header=False,
    )
    _Server(config, announce).run()
