"""A real worker process killed with SIGKILL in the middle of a workflow, and a new worker
that takes the run over once the dead worker's lease expires.

The workflow's steps append one line per execution to a side-effect file (flushed and
fsync'd, so the file is the truth about what ran), and one step announces "I am in the middle"
with a marker file, then sleeps until it is killed. After the takeover the run must complete,
no step whose checkpoint was committed may run again, and at most the in-flight step re-runs
(or, for an ``at_most_once`` step, is failed with StepInterrupted instead).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

FLOWS = """
    import os
    import time
    from pathlib import Path

    from wfkit import Context, Retry, step, workflow

    HERE = Path(__file__).parent


    def record(line: str) -> None:
        with open(HERE / "effects.log", "a") as fh:
            fh.write(line + "\\n")
            fh.flush()
            os.fsync(fh.fileno())


    @step
    def first() -> int:
        record("first")
        return 1


    @step
    def second(x: int) -> int:
        record("second")
        return x + 1


    def middle(x: int) -> int:
        record("middle")
        marker = HERE / "in-the-middle"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(60)  # the test kills the worker here
        return x + 1


    @step
    def last(x: int) -> int:
        record("last")
        return x * 10


    @step
    def reserve() -> str:
        record("reserve")
        return "r-1"


    @reserve.compensation
    def release(reservation: str) -> None:
        record("release")
        marker = HERE / "in-the-middle"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(60)  # the test kills the worker here, during compensation


    @step
    def explode() -> None:
        record("explode")
        raise ValueError("no stock")


    @workflow
    def saga(ctx: Context) -> None:
        ctx.step(reserve)
        ctx.step(explode, retry=Retry(attempts=1))


    @workflow
    def multi(ctx: Context) -> int:
        x = ctx.step(first)
        x = ctx.step(second, x)
        x = ctx.step(middle, x, at_most_once=AT_MOST_ONCE)
        return ctx.step(last, x)
"""


def write_flows(directory: Path, *, at_most_once: bool) -> None:
    text = textwrap.dedent(FLOWS).replace("AT_MOST_ONCE", repr(at_most_once))
    (directory / "flows.py").write_text(text)


def wfkit(directory: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "WFKIT_STORE": f"sqlite:///{directory / 'wf.db'}"}
    return subprocess.Popen(
        [sys.executable, "-m", "wfkit", *args],
        cwd=directory,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def worker(directory: Path) -> subprocess.Popen[str]:
    return wfkit(directory, "worker", "flows.py", "--lease-seconds", "1", "--idle-interval", "0.1")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run_json(directory: Path, run_id: str) -> dict[str, Any]:
    done = wfkit(directory, "show", run_id, "--format", "json")
    out, err = done.communicate(timeout=10)
    assert done.returncode == 0, err
    return json.loads(out)


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    return err


def effects(directory: Path) -> list[str]:
    return (directory / "effects.log").read_text().splitlines()


def start_and_kill_in_the_middle(
    directory: Path, workflow: str = "multi", status: str = "RUNNING"
) -> list[str]:
    """Start the run, kill its worker at the marker; return the steps committed by then."""
    started = wfkit(directory, "run", f"flows.py:{workflow}", "--id", "crash-1", "--no-wait")
    assert started.communicate(timeout=10)[0].strip() == "crash-1"
    first = worker(directory)
    try:
        # (created, then written: wait for the pid, not only the file)
        wait_for(
            lambda: (
                (directory / "in-the-middle").exists()
                and (directory / "in-the-middle").read_text() != ""
            ),
            "the step in the middle",
        )
        assert int((directory / "in-the-middle").read_text()) == first.pid
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    data = run_json(directory, "crash-1")
    assert data["run"]["status"] == status
    return [
        f"{op['kind']}:{op['name']}" for op in data["operations"] if op["status"] == "COMPLETED"
    ]


def test_a_killed_worker_s_run_is_completed_by_the_next_worker(tmp_path: Path) -> None:
    write_flows(tmp_path, at_most_once=False)
    committed = start_and_kill_in_the_middle(tmp_path)
    assert committed == ["step:first", "step:second"]
    assert effects(tmp_path) == ["first", "second", "middle"]

    second = worker(tmp_path)
    try:
        data = wait_for(
            lambda: (
                (d := run_json(tmp_path, "crash-1"))["run"]["status"]
                in ("COMPLETED", "FAILED", "COMPENSATED")
                and d
            ),
            "the takeover",
        )
    finally:
        log = stop(second)
    assert data["run"]["status"] == "COMPLETED" and data["run"]["result"] == 30
    assert data["run"]["recoveries"] == 1
    # Committed steps never ran again; only the in-flight one did (at-least-once).
    assert effects(tmp_path) == ["first", "second", "middle", "middle", "last"]
    assert [(op["name"], op["attempt"]) for op in data["operations"]] == [
        ("first", 1),
        ("second", 1),
        ("middle", 1),
        ("last", 1),
    ]
    assert "taken over from" in log and "COMPLETED" in log
    assert second.returncode == 0


def test_an_interrupted_at_most_once_step_is_failed_not_rerun(tmp_path: Path) -> None:
    write_flows(tmp_path, at_most_once=True)
    committed = start_and_kill_in_the_middle(tmp_path)
    assert committed == ["step:first", "step:second"]

    second = worker(tmp_path)
    try:
        data = wait_for(
            lambda: (
                (d := run_json(tmp_path, "crash-1"))["run"]["status"]
                in ("COMPLETED", "FAILED", "COMPENSATED")
                and d
            ),
            "the takeover",
        )
    finally:
        stop(second)
    assert data["run"]["status"] == "COMPENSATED"
    assert data["run"]["error"]["type"] == "StepInterrupted"
    assert effects(tmp_path) == ["first", "second", "middle"]  # never ran twice
    middle = [op for op in data["operations"] if op["name"] == "middle"]
    assert [(op["status"], op["attempt"]) for op in middle] == [("FAILED", 1)]


def test_a_worker_killed_during_compensation_is_taken_over(tmp_path: Path) -> None:
    write_flows(tmp_path, at_most_once=False)
    committed = start_and_kill_in_the_middle(tmp_path, "saga", status="COMPENSATING")
    assert committed == ["step:reserve"]

    second = worker(tmp_path)
    try:
        data = wait_for(
            lambda: (
                (d := run_json(tmp_path, "crash-1"))["run"]["status"]
                in ("COMPLETED", "FAILED", "COMPENSATED")
                and d
            ),
            "the takeover",
        )
    finally:
        stop(second)
    assert data["run"]["status"] == "COMPENSATED" and data["run"]["recoveries"] == 1
    # The failed step is not run again; the interrupted compensation is (at-least-once).
    assert effects(tmp_path) == ["reserve", "explode", "release", "release"]
    assert [(op["kind"], op["name"], op["status"]) for op in data["operations"]] == [
        ("step", "reserve", "COMPLETED"),
        ("step", "explode", "FAILED"),
        ("compensation", "reserve", "COMPLETED"),
    ]
