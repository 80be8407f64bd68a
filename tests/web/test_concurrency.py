"""50 clients start the same run at once, over real HTTP to a real server on an SQLite
file: exactly one run exists, one answer is 201 and 49 are 200, all with that run."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from live_server import live_server

from wfkit.engine.engine import Engine
from wfkit.web.app import create_app

CLIENTS = 50


def test_parallel_idempotent_starts_with_one_id_create_one_run(
    engine: Engine, flows: list[Any]
) -> None:
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    with live_server(create_app(engine, flows)) as url:
        barrier = threading.Barrier(CLIENTS)

        def start() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                barrier.wait()
                response = http.post("/api/workflows/adder/runs?id=once", json=[1, 2])
                with lock:
                    answers.append((response.status_code, response.json()["run"]["id"]))

        threads = [threading.Thread(target=start) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(code for code, _ in answers) == [200] * (CLIENTS - 1) + [201]
    assert {run_id for _, run_id in answers} == {"once"}
    assert [r.id for r in engine.list_runs()] == ["once"]
    assert [e.type for e in engine.history("once")] == ["run_started"]
