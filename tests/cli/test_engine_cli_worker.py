"""``wfkit worker`` as a real process: it runs what is runnable, logs one line per run
transition to stderr (nothing with -q), and stops gracefully on SIGTERM or SIGINT, finishing
the activation in progress."""

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
    import time
    from pathlib import Path

    from wfkit import Context, Retry, step, workflow

    HERE = Path(__file__).parent


    @step
    def quick(x: int) -> int:
        return x + 1


    @step(retry=Retry(attempts=1))
    def fail(x: int) -> int:
        raise ValueError(f"bad {x}")


    @step
    def slow(x: int) -> int:
        (HERE / "slow-started").touch()
        time.sleep(1.0)
        deadline = time.monotonic() + 30
        while (HERE / "hold").exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # a test holds the step until it has seen what it waits for
        (HERE / "slow-finished").touch()
        return x


    @workflow
    def ok(ctx: Context, x: int) -> int:
        return ctx.step(quick, x)


    @workflow
    def bad(ctx: Context, x: int) -> int:
        ctx.step(quick, x)
        return ctx.step(fail, x)


    @workflow
    def approval(ctx: Context) -> object:
        ctx.step(quick, 0)
        return ctx.wait_for_event("approval", timeout=3600)


    @workflow
    def long(ctx: Context, x: int) -> int:
        return ctx.step(quick, ctx.step(slow, x))
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    return tmp_path


def wfkit(directory: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "WFKIT_STORE": f"sqlite:///{directory / 'wf.db'}", "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "wfkit", *args],
        cwd=directory,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def done(directory: Path, *args: str) -> str:
    proc = wfkit(directory, *args)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return out


def statuses(directory: Path) -> dict[str, str]:
    runs = json.loads(done(directory, "list", "--format", "json"))["runs"]
    return {r["id"]: r["status"] for r in runs}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_runs_pending_runs_and_logs_each_transition(workdir: Path) -> None:
    done(workdir, "run", "flows.py:ok", "--input", "1", "--id", "good", "--no-wait")
    done(workdir, "run", "flows.py:bad", "--input", "2", "--id", "boom", "--no-wait")
    worker = wfkit(workdir, "worker", "flows.py", "--idle-interval", "0.05")
    try:
        wait_for(
            lambda: statuses(workdir) == {"good": "COMPLETED", "boom": "COMPENSATED"},
            "both runs to finish",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
    assert worker.returncode == 0 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("worker ") and "approval, bad, long, ok" in lines[0]
    transitions = [line.split(" ", 1)[1] for line in lines[1:-2]]  # drop the timestamps
    assert "good ok PENDING -> RUNNING" in transitions
    assert "good ok RUNNING -> COMPLETED" in transitions
    assert "boom bad RUNNING -> COMPENSATING (ValueError: bad 2)" in transitions
    assert "boom bad COMPENSATING -> COMPENSATED" in transitions
    assert lines[-2].startswith("stopping") and lines[-1] == "worker stopped"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_the_current_activation_finish(workdir: Path, sig: int) -> None:
    done(workdir, "run", "flows.py:long", "--input", "5", "--id", "l1", "--no-wait")
    worker = wfkit(workdir, "-q", "worker", "flows.py", "--idle-interval", "0.05")
    try:
        wait_for(lambda: (workdir / "slow-started").exists(), "the slow step")
        worker.send_signal(sig)
        out, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert (worker.returncode, out, err) == (0, "", "")  # -q: nothing at all
    assert (workdir / "slow-finished").exists()
    assert statuses(workdir) == {"l1": "COMPLETED"}


def test_a_second_signal_stops_at_once(workdir: Path) -> None:
    done(workdir, "run", "flows.py:long", "--input", "5", "--id", "l2", "--no-wait")
    worker = wfkit(workdir, "worker", "flows.py", "--idle-interval", "0.05")
    try:
        wait_for(lambda: (workdir / "slow-started").exists(), "the slow step")
        worker.send_signal(signal.SIGINT)
        time.sleep(0.1)
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    # click turns the KeyboardInterrupt into Abort; the root command reports it as SIGINT's 130.
    assert worker.returncode == 130 and err.splitlines()[-1] == "wfkit: interrupted"
    assert not (workdir / "slow-finished").exists()
    assert statuses(workdir) == {"l2": "PENDING"}  # leased; a later worker takes it over


def test_events_and_cancels_sent_from_other_processes_reach_a_worker(workdir: Path) -> None:
    done(workdir, "run", "flows.py:approval", "--id", "yes", "--no-wait")
    done(workdir, "run", "flows.py:approval", "--id", "no", "--no-wait")
    worker = wfkit(workdir, "worker", "flows.py", "--idle-interval", "0.05")
    try:
        wait_for(
            lambda: statuses(workdir) == {"yes": "WAITING", "no": "WAITING"}, "both runs to wait"
        )
        done(workdir, "send-event", "yes", "approval", "--data", '{"ok": 1}')
        done(workdir, "cancel", "no")
        wait_for(
            lambda: statuses(workdir) == {"yes": "COMPLETED", "no": "CANCELLED"},
            "the event and the cancel to be handled",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=10)
    assert worker.returncode == 0, err
    assert "yes approval WAITING -> RUNNING" in err
    assert "no approval WAITING -> COMPENSATING" in err
    assert "no approval COMPENSATING -> CANCELLED" in err
    result = json.loads(done(workdir, "show", "yes", "--format", "json"))["run"]["result"]
    assert result == {"ok": 1}


def test_ctrl_c_in_run_hands_the_run_back_at_once(workdir: Path) -> None:
    first = wfkit(workdir, "run", "flows.py:long", "--input", "5", "--id", "c1")
    try:
        wait_for(lambda: (workdir / "slow-started").exists(), "the slow step")
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 130 and "left run c1 to a worker" in err
    started = time.monotonic()
    again = wfkit(workdir, "run", "flows.py:long", "--id", "c1")  # no 30 s lease to wait out
    out, err = again.communicate(timeout=10)
    assert again.returncode == 0 and json.loads(out) == 6, err
    assert time.monotonic() - started < 8


def test_run_says_when_another_process_is_running_the_run(workdir: Path) -> None:
    done(workdir, "run", "flows.py:long", "--input", "5", "--id", "o1", "--no-wait")
    (workdir / "hold").touch()  # the worker's step waits until the follower has spoken
    worker = wfkit(workdir, "worker", "flows.py", "--idle-interval", "0.05")
    try:
        wait_for(lambda: (workdir / "slow-started").exists(), "the slow step")
        with open(workdir / "follower.err", "w") as err_file:
            follower = subprocess.Popen(
                [sys.executable, "-m", "wfkit", "run", "flows.py:long", "--id", "o1"],
                cwd=workdir,
                text=True,
                stdout=subprocess.PIPE,
                stderr=err_file,
                env={**os.environ, "WFKIT_STORE": f"sqlite:///{workdir / 'wf.db'}"},
            )
        try:
            wait_for(
                lambda: "in another process" in (workdir / "follower.err").read_text(),
                "the follower to say another process runs the run",
                timeout=30,
            )
        finally:
            (workdir / "hold").unlink()
        out, _ = follower.communicate(timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=10)
    err = (workdir / "follower.err").read_text()
    assert follower.returncode == 0 and json.loads(out) == 6
    assert err.count("in another process") == 1
