"""Two worker processes on one SQLite file share the work and never run one workflow at once.

Every step appends ``start``/``end`` lines with the worker's pid to one shared log (single
``O_APPEND`` writes, so lines never tear). Per run, the lines must be strictly sequential
(each step's start is followed by its own end before anything else of that run starts), and
with no crashes every step must have run exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import pytest

from wfkit.engine.engine import Engine
from wfkit.engine.loader import load_workflow

pytestmark = pytest.mark.slow

RUNS = 40
STEPS = 3

FLOWS = """
    import os
    import time
    from pathlib import Path

    from wfkit import Context, step, workflow

    LOG = Path(__file__).parent / "steps.log"


    def note(run_id: str, step_name: str, what: str) -> None:
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{run_id} {step_name} {what} {os.getpid()}\\n".encode())
        finally:
            os.close(fd)


    @step
    def work(run_id: str, n: int) -> int:
        note(run_id, f"s{n}", "start")
        time.sleep(0.005)  # long enough for the other worker to try to cut in
        note(run_id, f"s{n}", "end")
        return n


    @workflow
    def chain(ctx: Context, run_id: str, steps: int) -> int:
        return sum(ctx.step(work, run_id, n, name=f"s{n}") for n in range(steps))
"""


def test_two_workers_complete_every_run_and_never_overlap(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    monkeypatch.setattr(sys, "path", list(sys.path))
    wf = load_workflow(f"{tmp_path / 'flows.py'}:chain")
    for name, module in list(sys.modules.items()):  # leave no "flows" behind for others
        if module is sys.modules.get(wf.fn.__module__) and name != wf.fn.__module__:
            del sys.modules[name]
    with Engine(url, workflows=[wf]):
        pass  # create the database before two processes race to

    env = {**os.environ, "WFKIT_STORE": url}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wfkit",
                "worker",
                "flows.py",
                "--idle-interval",
                "0.05",
                "--concurrency",
                str(n),
            ],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in (2, 1)
    ]
    try:
        for proc in workers:  # both are polling before the first run exists
            assert proc.stderr is not None and "worker" in proc.stderr.readline()
        with Engine(url, workflows=[wf]) as engine:
            for i in range(RUNS):
                engine.start(wf, f"run-{i:02d}", STEPS, workflow_id=f"run-{i:02d}")
        with Engine(url) as engine:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if len(engine.list_runs(status="COMPLETED")) == RUNS:
                    break
                time.sleep(0.1)
            statuses = sorted({run.status.value for run in engine.list_runs()})
    finally:
        logs = []
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
            logs.append(proc.communicate(timeout=10)[1])
    assert statuses == ["COMPLETED"]
    assert [proc.returncode for proc in workers] == [0, 0], logs

    per_run: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for line in (tmp_path / "steps.log").read_text().splitlines():
        run_id, step_name, what, pid = line.split()
        per_run[run_id].append((step_name, what, pid))
    assert sorted(per_run) == [f"run-{i:02d}" for i in range(RUNS)]
    for run_id, lines in per_run.items():
        expected = [(f"s{n}", what) for n in range(STEPS) for what in ("start", "end")]
        assert [(s, w) for s, w, _ in lines] == expected, f"{run_id} overlapped: {lines}"
        for n in range(0, len(lines), 2):  # a step starts and ends in one process
            assert lines[n][2] == lines[n + 1][2], f"{run_id}: {lines}"
    pids = {pid for lines in per_run.values() for _, _, pid in lines}
    assert pids <= {str(proc.pid) for proc in workers}
    assert len(pids) == 2  # both took part (they were both polling before runs existed)
