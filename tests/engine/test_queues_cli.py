"""Queues from the command line: ``wfkit run --queue/--queue-key/--priority/--dedup-key``,
``wfkit list`` showing a run's queue, ``wfkit worker --queue``; each bad input one line on
stderr, exit 2, and no store file made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

FLOWS = """
    from wfkit import Context, Queue, step, workflow

    @step
    def shout(word: str) -> str:
        return word.upper()

    @workflow(queue=Queue("emails", concurrency=2, per_key=1))
    def mail(ctx: Context, word: str) -> str:
        return shout(word)

    @workflow(queue=Queue("sms"))
    def text(ctx: Context, word: str) -> str:
        return shout(word)

    @workflow
    def plain(ctx: Context, word: str) -> str:
        return shout(word)
"""

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def flows(user_code_dir: Path) -> Path:
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    return user_code_dir


def test_run_on_a_queue_waits_then_list_shows_the_queue(flows: Path, run_wfkit: Invoke) -> None:
    store = f"sqlite:///{flows / 'q.db'}"
    code, out, err = run_wfkit(
        "run", "flows.py:mail", "--input", '"hi"', "--queue-key", "c1", "--store", store
    )
    assert (code, json.loads(out)) == (0, "HI"), err
    code, out, _ = run_wfkit(
        "run", "flows.py:mail", "--input", '"later"', "--no-wait", "--store", store,
        "--priority", "3", "--dedup-key", "d1", "--id", "m2",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "m2")
    code, _, err = run_wfkit(
        "run", "flows.py:mail", "--input", '"again"', "--no-wait", "--dedup-key", "d1",
        "--store", store,
    )  # fmt: skip
    assert code == 2 and "already has run 'm2' with dedup key 'd1'" in err
    assert len(err.strip().splitlines()) <= 2  # the error and its hint
    run_wfkit("run", "flows.py:plain", "--input", '"x"', "--id", "p1", "--store", store)
    code, out, _ = run_wfkit("list", "--format", "json", "--store", store)
    listed = {r["id"]: (r["status"], r["queue"]) for r in json.loads(out)["runs"]}
    assert listed["m2"] == ("QUEUED", "emails") and listed["p1"] == ("COMPLETED", None)
    code, out, _ = run_wfkit("list", "--status", "queued", "--store", store)
    assert code == 0 and "QUEUE" in out.splitlines()[0] and "m2" in out and "emails" in out
    code, out, _ = run_wfkit("list", "--queue", "emails", "--format", "json", "--store", store)
    assert code == 0 and [r["id"] for r in json.loads(out)["runs"]][0] == "m2"
    assert {r["queue"] for r in json.loads(out)["runs"]} == {"emails"}
    code, out, _ = run_wfkit("list", "--queue", "sms", "--store", store)
    assert code == 0 and "m2" not in out and "p1" not in out
    # show: the run's place on its queue, in the header and in JSON; none for a plain run.
    code, out, _ = run_wfkit("show", "m2", "--store", store)
    assert code == 0
    assert "emails (priority 3, dedup key d1): waiting since" in out
    code, out, _ = run_wfkit("show", "m2", "--format", "json", "--store", store)
    queue = json.loads(out)["run"]["queue"]
    assert (queue["name"], queue["key"], queue["priority"], queue["state"]) == (
        "emails",
        None,
        3,
        "queued",
    )
    assert queue["dequeued_at"] is None and queue["enqueued_at"]
    code, out, _ = run_wfkit("show", "p1", "--format", "json", "--store", store)
    assert json.loads(out)["run"]["queue"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--queue", "nope"], "unknown queue 'nope'"),
        (["--queue", "sms"], "unknown queue 'sms'"),  # not the queue this workflow declares
        (["--priority", "-1"], "-1 is not in the range"),
        (["--queue-key", ""], "queue_key"),
    ],
)
def test_bad_queue_options_of_run_touch_no_store(
    flows: Path, run_wfkit: Invoke, args: list[str], message: str
) -> None:
    store = flows / "never.db"
    code, _, err = run_wfkit(
        "run", "flows.py:mail", "--input", '"x"', "--store", f"sqlite:///{store}", *args
    )
    assert code == 2 and message in err, err
    assert not store.exists()


def test_worker_with_an_unknown_queue_exits_2_before_opening_the_store(
    flows: Path, run_wfkit: Invoke
) -> None:
    store = flows / "never.db"
    code, _, err = run_wfkit(
        "worker", "flows.py", "--queue", "fax", "--store", f"sqlite:///{store}"
    )
    assert code == 2 and "unknown queue 'fax' (the modules declare: emails, sms)" in err
    assert not store.exists()


def test_a_worker_with_queue_runs_only_that_queue(flows: Path, run_wfkit: Invoke) -> None:
    url = f"sqlite:///{flows / 'w.db'}"
    for target, run_id in (("mail", "m1"), ("text", "t1"), ("plain", "p1")):
        code, _, err = run_wfkit(
            "run", f"flows.py:{target}", "--input", '"w"', "--no-wait", "--id", run_id,
            "--store", url,
        )  # fmt: skip
        assert code == 0, err
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "wfkit.cli.main", "worker", "flows.py", "--queue", "sms",
         "--idle-interval", "0.05", "--store", url],
        cwd=flows, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            _, out, _ = run_wfkit("list", "--format", "json", "--store", url)
            status = {r["id"]: r["status"] for r in json.loads(out)["runs"]}
            if status["t1"] == "COMPLETED":
                break
            time.sleep(0.05)
        time.sleep(0.3)  # a few more idle passes: nothing else may be taken
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    assert status == {"t1": "COMPLETED", "m1": "QUEUED", "p1": "PENDING"}, err
    assert "queues sms;" in err
