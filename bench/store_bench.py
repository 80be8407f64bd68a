"""SqliteStore.commit against a raw SQLite INSERT+COMMIT loop with the same pragmas.

Not a test: run it by hand and read the figures.

    python bench/store_bench.py                      # FULL and NORMAL, 2000 commits each
    python bench/store_bench.py --sync NORMAL -n 20000 --rounds 5

The store side commits a typical step checkpoint the way the engine does after each successful
step: one operation upserted (COMPLETED, with result), one history entry, the run's updated_at,
fenced by the worker's lease. The raw side is the floor: one small INSERT and a COMMIT on a WAL
file with the same ``synchronous``. Rounds alternate between the two so disk noise (fsync
latency drifts a lot) hits both alike; the median round is reported.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, HistoryEntry, OperationRecord, RunRecord
from wfkit.engine.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RESULT = '{"transaction_id":"txn-000123","amount":"10.00","currency":"EUR"}'


def raw_commits(path: Path, sync: str, n: int) -> float:
    """Seconds per raw INSERT+COMMIT (WAL, same synchronous)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS t (run_id TEXT, seq INTEGER, result TEXT, "
        "PRIMARY KEY (run_id, seq))"
    )
    start_seq = conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    started = time.perf_counter()
    for seq in range(start_seq, start_seq + n):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (run_id, seq, result) VALUES (?, ?, ?)", ("run-1", seq, RESULT))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed / n


def step_checkpoints(run_id: str, first_seq: int, n: int) -> list[Checkpoint]:
    """What the engine commits after each successful step (built before the clock starts:
    the engine builds these records whatever the store is)."""
    checkpoints = []
    for seq in range(first_seq, first_seq + n):
        now = T0 + timedelta(milliseconds=seq)
        checkpoints.append(
            Checkpoint(
                run={"updated_at": now},
                operations=[
                    OperationRecord(
                        run_id,
                        seq,
                        OpKind.STEP,
                        "charge_payment",
                        OpStatus.COMPLETED,
                        attempt=1,
                        started_at=now,
                        finished_at=now,
                        result=RESULT,
                        source="orders.py:42",
                    )
                ],
                history=[
                    HistoryEntry(
                        run_id,
                        now,
                        "step_completed",
                        seq=seq,
                        name="charge_payment",
                        data={"attempt": 1},
                    )
                ],
            )
        )
    return checkpoints


def store_commits(store: SqliteStore, run_id: str, first_seq: int, n: int) -> float:
    """Seconds per SqliteStore.commit of one step checkpoint, fenced by the lease."""
    checkpoints = step_checkpoints(run_id, first_seq, n)
    now = T0 + timedelta(milliseconds=first_seq)
    started = time.perf_counter()
    for checkpoint in checkpoints:
        store.commit(run_id, checkpoint, lease_owner="worker-1", now=now)
    return (time.perf_counter() - started) / n


def bench(sync: str, n: int, rounds: int, directory: Path) -> tuple[float, float]:
    store = SqliteStore(f"sqlite:///{directory / f'store-{sync}.db'}?synchronous={sync}")
    store.create_run(RunRecord("run-1", "bench", 1, RunStatus.PENDING, "{}", 1, T0, T0), [])
    store.claim("worker-1", T0, T0 + timedelta(days=365))
    raw_path = directory / f"raw-{sync}.db"
    raw_commits(raw_path, sync, min(n, 200))  # warm up both
    seq = 0
    store_commits(store, "run-1", seq, min(n, 200))
    seq += min(n, 200)
    raws, stores = [], []
    for _ in range(rounds):
        raws.append(raw_commits(raw_path, sync, n))
        stores.append(store_commits(store, "run-1", seq, n))
        seq += n
    store.close()
    return statistics.median(raws), statistics.median(stores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync", default="FULL,NORMAL", help="comma-separated levels")
    parser.add_argument("-n", type=int, default=2000, help="commits per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the files go (default: a temporary directory)"
    )
    args = parser.parse_args()
    print(
        f"SQLite {sqlite3.sqlite_version}, WAL, {args.n} commits x {args.rounds} rounds "
        "(median round)"
    )
    print(
        f"{'synchronous':<12}{'raw µs/commit':>15}{'store µs/commit':>17}{'ratio':>8}"
        f"{'overhead µs':>13}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for sync in args.sync.upper().split(","):
            raw, store = bench(sync, args.n, args.rounds, Path(tmp))
            print(
                f"{sync:<12}{raw * 1e6:>15.1f}{store * 1e6:>17.1f}{store / raw:>8.2f}"
                f"{(store - raw) * 1e6:>13.1f}"
            )


if __name__ == "__main__":
    main()
