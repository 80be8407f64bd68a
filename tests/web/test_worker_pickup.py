"""Runs started through the API are run by a separate `wfkit worker` process, on SQLite and
on PostgreSQL (the server itself runs none: --workers 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
FLOWS = str(ROOT / "fixtures" / "web" / "flows.py")


@pytest.mark.slow
@pytest.mark.parametrize(
    "store_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_wfkit_worker_runs_what_the_api_started(client: TestClient, store_url: str) -> None:
    assert client.post("/api/workflows/checkout/runs?id=k1", json="desk").status_code == 201
    assert client.post("/api/workflows/adder/runs?id=k2", json=[3, 4]).status_code == 201
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfkit",
            "-q",
            "worker",
            FLOWS,
            "--store",
            store_url,
            "--idle-interval",
            "0.05",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while {client.get(f"/api/runs/{i}").json()["run"]["status"] for i in ("k1", "k2")} != {
            "COMPENSATED",
            "COMPLETED",
        }:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert client.get("/api/runs/k2").json()["run"]["result"] == 7
