"""Progress of a run on stderr: plain lines in order off a terminal, a live display that ends
cleanly on one, nothing with -q; ``wfkit worker -v`` logs the same lines."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wfkit.cli.main import main

FLOWS = """
    from pathlib import Path

    from wfkit import Context, Retry, step, workflow

    HERE = Path(__file__).parent


    @step(retry=Retry(attempts=3, backoff="fixed", initial=0.05, jitter=False))
    def charge(n: int) -> int:
        tries = HERE / "tries"
        count = int(tries.read_text()) + 1 if tries.exists() else 1
        tries.write_text(str(count))
        if count < 2:
            raise ConnectionError("gateway down")
        return n


    @charge.compensation
    def refund(n: int, charged: int) -> None:
        pass


    @step(retry=Retry(attempts=1))
    def ship(n: int) -> int:
        raise ValueError(f"no trucks for {n}")


    @workflow
    def order(ctx: Context, n: int) -> int:
        return ctx.step(charge, n)


    @workflow
    def doomed(ctx: Context, n: int) -> int:
        ctx.step(charge, n)
        return ctx.step(ship, n)
"""

ORDER_LINES = [
    "started run o1 (order)",
    "o1: step 'charge' started",
    "o1: step 'charge' failed (attempt 1 of 3: ConnectionError: gateway down); next attempt at",
    "o1: step 'charge': attempt 2 of 3",
    "o1: step 'charge' done (",
]


@pytest.fixture(autouse=True)
def workdir(user_code_dir: Path) -> Path:
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    return user_code_dir


def wfkit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def starts(lines: list[str], prefixes: list[str]) -> bool:
    return len(lines) == len(prefixes) and all(
        line.startswith(prefix) for line, prefix in zip(lines, prefixes)
    )


def test_off_a_terminal_progress_is_plain_lines_in_order(capsys) -> None:
    code, out, err = wfkit(capsys, "run", "flows.py:order", "--input", "7", "--id", "o1")
    assert (code, json.loads(out)) == (0, 7)
    assert starts(err.splitlines(), ORDER_LINES), err
    assert "\x1b" not in err  # no escape codes in a pipe


def test_a_failed_run_shows_giving_up_and_each_compensation(capsys) -> None:
    code, _, err = wfkit(capsys, "run", "flows.py:doomed", "--input", "3", "--id", "d1")
    assert code == 1
    assert starts(
        err.splitlines()[5:],
        [
            "d1: step 'ship' started",
            "d1: step 'ship' failed after 1 attempt: ValueError: no trucks for 3",
            "d1: compensating 1 completed step (ValueError: no trucks for 3)",
            "d1: compensation of 'charge' started",
            "d1: compensation of 'charge' done (",
            "wfkit: error: workflow run 'd1' ended COMPENSATED",
        ],
    ), err


def test_quiet_shows_no_progress(capsys) -> None:
    code, out, err = wfkit(capsys, "-q", "run", "flows.py:order", "--input", "7", "--id", "q1")
    assert (code, out.strip(), err) == (0, "7", "")


def test_a_forced_terminal_gets_the_live_display_and_it_ends_cleanly(capsys) -> None:
    code, out, err = wfkit(capsys, "--color", "run", "flows.py:order", "--input", "7", "--id", "o1")
    assert (code, json.loads(out)) == (0, 7)
    assert err.startswith("\x1b[?25l")  # the live display hides the cursor, shows it again
    assert err.count("\x1b[?25h") == 1 and err.rindex("\x1b[?25h") > err.rindex("done (")
    shown = [line.split("\r")[-1].replace("\x1b[2K", "") for line in err.split("\n")]
    assert any(line.startswith("o1: step 'charge' failed (attempt 1 of 3") for line in shown)
    assert any(line.startswith("o1: step 'charge' done (") for line in shown)


def test_a_real_terminal_gets_the_live_display_and_it_ends_cleanly(workdir: Path) -> None:
    """stderr on a pty: rich detects the terminal itself; the cursor comes back at the end."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "WFKIT_STORE": f"sqlite:///{workdir / 'wf.db'}", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wfkit", "run", "flows.py:order", "--input", "7", "--id", "t1"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
    )
    os.close(secondary)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], 20)
            if not ready:
                raise AssertionError("no output from the terminal for 20 s")
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        out = proc.stdout.read() if proc.stdout else ""
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        os.close(primary)
        if proc.stdout:
            proc.stdout.close()
    screen = b"".join(chunks).decode()
    assert json.loads(out) == 7
    assert "\x1b[?25l" in screen and screen.rindex("\x1b[?25h") > screen.rindex("\x1b[?25l")
    assert "o1" not in screen and "t1: step 'charge' done (" in screen


@pytest.mark.slow
def test_a_worker_at_verbose_logs_the_progress_lines(workdir: Path) -> None:
    env = {**os.environ, "WFKIT_STORE": f"sqlite:///{workdir / 'wf.db'}", "NO_COLOR": "1"}

    def wfkit_proc(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "wfkit", *args],
            cwd=workdir,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def done(*args: str) -> None:
        proc = wfkit_proc(*args)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err

    done("run", "flows.py:order", "--input", "7", "--id", "w1", "--no-wait")
    quiet, verbose = [], []
    for flag, sink in (("", quiet), ("-v", verbose)):
        worker = wfkit_proc(
            *([flag] if flag else []), "worker", "flows.py", "--idle-interval", "0.05"
        )
        try:
            deadline = 200
            while not (workdir / "tries").exists() and deadline:
                deadline -= 1
                select.select([], [], [], 0.05)
            select.select([], [], [], 1.0)  # the retry and the completion
        finally:
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=20)
        sink.extend(line.split(" ", 1)[1] for line in err.splitlines()[1:-2])
        if not flag:  # the run completed under the quiet worker: start another for -v
            (workdir / "tries").unlink()
            done("run", "flows.py:order", "--input", "7", "--id", "w2", "--no-wait")
    assert not any("step 'charge'" in line for line in quiet)  # only transitions without -v
    progress = [line for line in verbose if line.startswith("w2: ")]
    assert starts(progress, [p.replace("o1", "w2") for p in ORDER_LINES[1:]]), verbose
    assert "w2 order RUNNING -> COMPLETED" in verbose
