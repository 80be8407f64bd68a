"""`wfkit list` of 1,000 runs on a store of 100,000 runs, against the raw SQL query.

Not a test: run it by hand and read the figures (docs/performance.md records them).

    python bench/list_bench.py                           # 100,000 runs, 5 rounds
    python bench/list_bench.py --runs 20000 --db /tmp/list.db --rounds 9

Both sides are whole processes, as a user meets them: ``wfkit list --limit 1000`` (the table
and ``--format json``) against ``python -c`` running one SQL statement that reads the same
columns (id, workflow, status, created and finished times, completed steps) for the newest
1,000 runs and prints them. Rounds alternate between the sides; the median round is reported.
The store is filled once through SqliteStore (synchronous=NORMAL): runs of four workflows over
100 days, each with three completed steps, mostly COMPLETED, 1% FAILED, 2% WAITING; ``--db``
keeps the file for the next run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, HistoryEntry, OperationRecord, RunRecord
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.engine.store.sqlite_schema import KEY_SPAN

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
WORKFLOWS = ("place_order", "refund", "onboard_customer", "nightly_report")
STEPS = ("reserve", "charge", "ship")

# The raw side: the same columns in one statement, newest first (the runs_created index), steps
# counted per run over its operations' key range.
RAW = f"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute(
    "SELECT r.id, r.workflow, r.status, r.created_at, r.finished_at, "
    "(SELECT COUNT(*) FROM operations t WHERE t.key BETWEEN r.pk * {KEY_SPAN} "
    "AND r.pk * {KEY_SPAN} + {KEY_SPAN - 1} AND t.kind = 'step' "
    "AND t.status IN ('COMPLETED', 'SKIPPED')) "
    "FROM runs r ORDER BY r.created_at DESC, r.id DESC LIMIT ?", (int(sys.argv[2]),)
).fetchall()
print("\\n".join("\\t".join(map(str, row)) for row in rows))
"""


def fill(path: Path, runs: int) -> None:
    store = SqliteStore(f"sqlite:///{path}?synchronous=NORMAL&group_commit=off")
    rng = random.Random(18)
    spacing = timedelta(days=100) / runs
    for i in range(runs):
        roll = rng.random()
        status = (
            RunStatus.FAILED
            if roll < 0.01
            else RunStatus.WAITING
            if roll < 0.03
            else RunStatus.COMPLETED
        )
        created = T0 + spacing * i
        run_id = f"run-{i:06d}"
        record = RunRecord(
            run_id, WORKFLOWS[i % 4], 1, RunStatus.RUNNING, '{"args":[1],"kwargs":{}}', i,
            created, created,
        )  # fmt: skip
        store.create_run(record, [HistoryEntry(run_id, created, "run_started")])
        done = created + timedelta(seconds=2)
        ops = [
            OperationRecord(
                run_id,
                seq,
                OpKind.STEP,
                name,
                OpStatus.COMPLETED,
                attempt=1,
                started_at=created,
                finished_at=done,
                result='"ok"',
            )  # fmt: skip
            for seq, name in enumerate(STEPS)
        ]
        final = {"status": status, "updated_at": done}
        if status != RunStatus.WAITING:
            final.update(finished_at=done, result='"ok"')
        history = [
            HistoryEntry(run_id, done, "step_completed", seq=op.seq, name=op.name) for op in ops
        ]
        store.commit(run_id, Checkpoint(run=final, operations=ops, history=history), now=done)
    store.close()


# As users run wfkit: with its bytecode cached (the warm-up round writes it where it is missing).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the store")
    parser.add_argument("--limit", type=int, default=1000, help="runs listed")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="keep the store here (reused)")
    args = parser.parse_args()
    directory = tempfile.TemporaryDirectory()
    path = args.db or Path(directory.name) / "list.db"
    if not path.exists():
        started = time.perf_counter()
        fill(path, args.runs)
        print(f"filled {args.runs:,} runs in {time.perf_counter() - started:.0f} s")
    url = f"sqlite:///{path}"
    wfkit = [sys.executable, "-m", "wfkit.cli.main", "list", "--store", url]
    sides = {
        "raw SQL (python -c)": [sys.executable, "-c", RAW, str(path), str(args.limit)],
        "wfkit list (table)": [*wfkit, "--limit", str(args.limit)],
        "wfkit list --format json": [*wfkit, "--limit", str(args.limit), "--format", "json"],
        "wfkit list (default 50)": wfkit,
    }
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for command in sides.values():  # warm the page cache and the imports once
        timed(command)
    for _ in range(args.rounds):
        for name, command in sides.items():
            samples[name].append(timed(command))
    raw = statistics.median(samples["raw SQL (python -c)"])
    print(f"{args.limit:,} newest of {args.runs:,} runs, median of {args.rounds} rounds")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:<26} {median * 1000:7.0f} ms  {median / raw:5.2f}x raw")
    directory.cleanup()


if __name__ == "__main__":
    main()
