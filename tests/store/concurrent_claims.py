"""Two real processes claiming runs from one store at once: no run may be claimed twice.

Shared by the SQLite and PostgreSQL suites; the claimer opens whatever store the URL names.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from wfkit.engine.store import open_store

CLAIMER = textwrap.dedent("""
    import os, sys, time
    from datetime import datetime, timedelta, timezone
    from wfkit.engine.store import open_store
    url, owner, go = sys.argv[1], sys.argv[2], sys.argv[3]
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    store = open_store(url)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    claimed, empty = [], 0
    while empty < 3:
        got = [r.id for r in store.claim(owner, now, now + timedelta(minutes=5), limit=2)]
        claimed += got
        empty = 0 if got else empty + 1
        time.sleep(0.001)     # let the other process in between our claims: real interleaving
    store.close()
    print(" ".join(claimed), flush=True)
""")


def assert_two_processes_share_the_runs(url: str, ids: list[str], workdir: Path) -> None:
    """Both processes claim (interleaved), no run twice, every run once, leases match."""
    go = workdir / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, url, f"w{n}", str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    go.touch()
    first, second = [worker.communicate(timeout=60)[0].split() for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert first and second
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)
    store = open_store(url)
    try:
        owners = {r.id: r.lease_owner for r in store.list_runs()}
    finally:
        store.close()
    assert owners == {**{i: "w0" for i in first}, **{i: "w1" for i in second}}
