"""``wfkit serve`` on a store with 100,000 runs: how long the runs list takes, server-side.

Not a test: run it by hand and read the figures (docs/performance.md records them).

    python bench/web_bench.py                     # 100,000 runs, 200 requests per URL
    python bench/web_bench.py --runs 20000 --requests 500 --db /tmp/web.db

The store is an SQLite file filled through SqliteStore.create_run (synchronous=NORMAL, so
filling is quick; reads do not depend on it): runs of four workflows over 100 days, mostly
COMPLETED, 1% FAILED, 2% WAITING. Each URL is requested through Starlette's test client, and
the time is taken inside the ASGI application, from the request's arrival to the response's
last byte: what the server spends, without the client or the network. The goal is a p95 of
50 ms or less for the runs list.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from wfkit.engine.engine import Engine
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import HistoryEntry, RunRecord
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.web.app import create_app
from wfkit.web.loading import load_paths

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FLOWS = str(Path(__file__).resolve().parents[1] / "fixtures" / "web" / "flows.py")
WORKFLOWS = ("adder", "approval", "checkout", "repairable")


def fill(url: str, runs: int) -> None:
    store = SqliteStore(url)
    rng = random.Random(16)
    step = timedelta(days=100) / runs
    for i in range(runs):
        roll = rng.random()
        status = (
            RunStatus.FAILED
            if roll < 0.01
            else RunStatus.WAITING
            if roll < 0.03
            else RunStatus.COMPENSATED
            if roll < 0.06
            else RunStatus.COMPLETED
        )
        created = T0 + step * i
        finished = None if status == RunStatus.WAITING else created + timedelta(seconds=2)
        record = RunRecord(
            id=f"run-{i:06d}",
            workflow=WORKFLOWS[i % 4],
            version=1,
            status=status,
            input='{"args":[1,2],"kwargs":{}}',
            seed=i,
            created_at=created,
            updated_at=finished or created,
            finished_at=finished,
            result="3" if finished else None,
        )
        store.create_run(
            record,
            [HistoryEntry(record.id, created, "run_started", data={"workflow": record.workflow})],
        )
    store.close()


class Timed:
    """ASGI middleware: milliseconds from a request's arrival to its response's last byte."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples.append((time.perf_counter() - start) * 1000)

        await self.app(scope, receive, timed_send)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="reuse (or create) this SQLite file instead of a temporary one",
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="wfkit-web-bench-")
    db = args.db or Path(folder) / "web.db"
    url = f"sqlite:///{db}?synchronous=NORMAL"
    if not db.exists():
        start = time.perf_counter()
        fill(url, args.runs)
        print(f"filled {args.runs:,} runs in {time.perf_counter() - start:.1f}s ({db})")
    flows = load_paths([FLOWS])
    with Engine(url, workflows=flows) as engine:
        total = sum(engine.count_runs().values())
        timed = Timed(create_app(engine, flows))
        with TestClient(timed) as client:
            deep = client.get("/api/runs?limit=500").json()["next_cursor"]
            for _ in range(20):  # the cursor 10,000 runs down
                deep = client.get(f"/api/runs?limit=500&cursor={deep}").json()["next_cursor"]
            urls = [
                "/api/runs",
                "/api/runs?status=COMPLETED",
                "/api/runs?status=FAILED",
                "/api/runs?workflow=checkout",
                f"/api/runs?cursor={deep}",
                "/api/runs?limit=500",
                "/api/counts",
                "/runs",
                "/runs?status=WAITING&workflow=approval",
                "/runs/run-050000",
            ]
            print(f"{total:,} runs; {args.requests} requests per URL; ms inside the server")
            print(f"{'URL':<46} {'p50':>7} {'p95':>7} {'max':>7}")
            for path in urls:
                timed.samples.clear()
                for _ in range(args.requests):
                    assert client.get(path).status_code == 200, path
                shown = path if len(path) < 46 else path[:43] + "..."
                print(
                    f"{shown:<46} {statistics.median(timed.samples):7.2f} "
                    f"{percentile(timed.samples, 0.95):7.2f} {max(timed.samples):7.2f}"
                )


if __name__ == "__main__":
    main()
