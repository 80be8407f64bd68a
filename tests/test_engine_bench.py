"""bench/engine_bench.py keeps working, and what it counts holds: one durable commit per step.

The timings are for people to read (docs/performance.md); this only runs the smallest
benchmark and checks its shape and its commit counts, which do not depend on the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "engine_bench.py"


def test_the_engine_bench_runs_and_counts_one_durable_commit_per_step() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--rounds",
            "1",
            "--runs",
            "2",
            "--block",
            "1",
            "--synchronous",
            "NORMAL",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "synchronous=NORMAL" in out and "per step / raw commit" in out
    assert re.search(r"1-step workflow .* 3 durable commits", out)
    assert re.search(r"10-step workflow .* 12 durable commits", out)
    assert "1.00 commits per step" in out


def test_the_engine_bench_refuses_nonsense_counts() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--rounds", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "at least 1" in done.stderr
