"""Real `wfkit worker` processes in the situations of issue 10 that the torture test meets
only by chance: a cancel while a worker executes the run, a kill in the middle of a cancel's
compensation, a cancel after a crash that followed a parallel group, a child whose wake-up
note to its parent was lost, another process holding the SQLite write lock for longer
than the store's busy timeout, and a worker paused (SIGSTOP) past its lease whose step must
notice, when it resumes, that its run was taken over.

Each run's steps write the same external ledger as the torture test's (reliability_harness),
and each test ends with the same invariant checker, so a failure names what went wrong (run,
operation, what) beside the status the run ended in.
"""

from __future__ import annotations

import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_harness import (
    SPEC,
    Ledger,
    Workers,
    cli,
    load_flows,
    snapshot,
    terminal,
    wait_for,
    write_flows,
)
from torture_invariants import Verdict, check, read_ledger

from wfkit.engine.core.waits import CHILD_EVENT
from wfkit.engine.engine import Engine

pytestmark = pytest.mark.slow

TERMINAL = ("COMPLETED", "COMPENSATED", "FAILED", "CANCELLED")


@pytest.fixture
def here(tmp_path: Path) -> Iterator[tuple[Path, str, Any]]:
    """(directory with flows.py, SQLite store URL, the flows module loaded here)."""
    module = load_flows(write_flows(tmp_path))
    yield tmp_path, f"sqlite:///{tmp_path / 'wf.db'}", module
    sys.modules.pop(module.__name__, None)


def status_of(url: str, run_id: str) -> str:
    with Engine(url) as engine:
        return engine.get_run(run_id).status.value


def verdict(url: str, directory: Path, workers: Workers, expected: dict[str, str]) -> Verdict:
    with Engine(url) as engine:
        runs, children = snapshot(engine, list(expected))
    allowed = {run_id: frozenset({status}) for run_id, status in expected.items()}
    allowed.update({child: frozenset({"COMPLETED"}) for child in children if child not in allowed})
    return check(read_ledger(directory / "ledger.log"), workers.kills, runs, allowed, SPEC)


def start(url: str, workflow: Any, run_id: str, *args: Any) -> str:
    with Engine(url) as engine:
        return engine.start(workflow, *args, workflow_id=run_id).id


def cancel(directory: Path, url: str, run_id: str) -> None:
    done = cli(directory, url, "cancel", run_id)
    assert done.returncode == 0, done.stderr


def wait_terminal(url: str, run_id: str, timeout: float) -> str:
    return wait_for(
        lambda: (s := status_of(url, run_id)) in TERMINAL and s,
        f"run {run_id} to end",
        timeout=timeout,
    )


def test_a_cancel_reaches_the_run_a_worker_is_executing(here: tuple[Path, str, Any]) -> None:
    directory, url, flows = here
    ledger = Ledger(directory / "ledger.log")
    run_id = start(url, flows.cancel_midstep, "cancel-a", "a")
    with Workers(directory, url).start(1) as workers:
        wait_for(lambda: ledger.started(run_id, "gated"), "the gated step to start")
        cancel(directory, url, run_id)
        (directory / "go-a").touch()  # the step finishes after the cancel was requested
        status = wait_terminal(url, run_id, timeout=30)
    found = verdict(url, directory, workers, {run_id: "CANCELLED"})
    assert status == "CANCELLED", found.render()
    # The cancel is seen at the next operation boundary: nothing new starts after it.
    assert not ledger.started(run_id, "three") and not ledger.started(run_id, "four")
    assert ledger.undo_order(run_id) == ["gated", "one"]
    assert found.ok, found.render()


@pytest.mark.parametrize("cancelled", ["while-executing", "after-a-crash", "while-asleep"])
def test_a_worker_killed_during_a_cancel_s_compensation_is_taken_over(
    here: tuple[Path, str, Any], cancelled: str
) -> None:
    """The cancel reaches the run while a worker executes its step ``gated`` (seen at the
    next operation boundary), or after that worker was killed in it, or while the run sleeps
    on a timer; the run's last compensation (of ``base``) then waits to be killed, and the
    worker after that finishes the cancel."""
    directory, url, flows = here
    ledger = Ledger(directory / "ledger.log")
    tag = cancelled
    if cancelled == "while-asleep":
        run_id = start(url, flows.cancel_asleep, "cancel-b", tag)
    else:
        run_id = start(url, flows.cancel_then_undo, "cancel-b", tag)
    with Workers(directory, url).start(1) as workers:
        if cancelled == "while-asleep":
            wait_for(lambda: status_of(url, run_id) == "SLEEPING", "the run to sleep")
            cancel(directory, url, run_id)
        else:
            wait_for(lambda: ledger.started(run_id, "gated"), "the gated step to start")
            if cancelled == "after-a-crash":
                workers.kill(0)  # in the middle of gated; the next worker takes over
            cancel(directory, url, run_id)
            (directory / f"go-{tag}").touch()
        holding = directory / "holding-undo-base"
        wait_for(
            lambda: holding.exists() or status_of(url, run_id) in TERMINAL,
            "the compensation of step base to start",
        )
        assert holding.exists(), (
            f"the run ended {status_of(url, run_id)} before its last compensation started"
        )
        assert int(holding.read_text()) == workers.procs[0].pid
        workers.kill(0)  # and a new worker starts: it takes the run over after the lease
        status = wait_terminal(url, run_id, timeout=30)
    found = verdict(url, directory, workers, {run_id: "CANCELLED"})
    assert status == "CANCELLED", found.render()
    undone = ["gated", "two", "base"] if cancelled == "while-executing" else ["two", "base"]
    assert ledger.undo_order(run_id) == undone
    assert len([line for line in ledger.ran(run_id, "undo:base") if line.event == "end"]) == 1
    assert not ledger.started(run_id, "three")
    assert found.ok, found.render()


@pytest.mark.parametrize("cancelled", ["while-no-worker-runs", "while-the-step-re-runs"])
def test_a_cancel_after_a_crash_undoes_a_completed_parallel_group(
    here: tuple[Path, str, Any], cancelled: str
) -> None:
    """A parallel group completes, the worker is killed in the step after it; the cancel
    comes while no worker runs, or while the next worker re-runs that step."""
    directory, url, flows = here
    ledger = Ledger(directory / "ledger.log")
    run_id = start(url, flows.parallel_then_stall, "cancel-c", "c")
    with Workers(directory, url).start(1) as workers:
        holding = directory / "holding-stall"
        wait_for(holding.exists, "the step after the parallel group to start")
        workers.kill(0, restart=False)
        assert status_of(url, run_id) == "RUNNING"
        if cancelled == "while-no-worker-runs":
            cancel(directory, url, run_id)
            workers.start(1)
        else:
            workers.start(1)
            wait_for(
                lambda: (
                    len([line for line in ledger.ran(run_id, "stall") if line.event == "start"])
                    == 2
                ),
                "the step to re-run",
            )
            cancel(directory, url, run_id)
        (directory / "go-c").touch()
        status = wait_terminal(url, run_id, timeout=30)
    found = verdict(url, directory, workers, {run_id: "CANCELLED"})
    assert status == "CANCELLED", found.render()
    # pa and pb (the group's steps with a compensation) and one are all undone; pd has none.
    assert sorted(ledger.undo_order(run_id)) == ["one", "pa", "pb"]
    assert ledger.undo_order(run_id)[-1] == "one"
    assert not ledger.started(run_id, "three")
    assert found.ok, found.render()


class ProcessDied(BaseException):
    """The process 'dies' right after the child's final commit returns."""


class DiesAfterChildsLastCommit:
    """A store whose process dies just after the commit that ends one run (the child): the
    crash between a child's final checkpoint and anything the worker would do next. The wake-up
    note to the parent rides in that same commit (Checkpoint.send_events), so it cannot be lost
    on its own; this is the proof."""

    def __init__(self, inner: Any, child_id: str) -> None:
        self._inner = inner
        self._child_id = child_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit(self, run_id: str, checkpoint: Any, **kwargs: Any) -> Any:
        answer = self._inner.commit(run_id, checkpoint, **kwargs)
        if run_id == self._child_id and checkpoint.send_events:
            raise ProcessDied(run_id)
        return answer


def test_a_child_that_ends_as_its_worker_dies_still_wakes_its_parent_soon(
    here: tuple[Path, str, Any],
) -> None:
    """Here the test process plays the worker that dies: it runs the parent until it waits,
    then the child to its final commit, and dies there. The child's end and the parent's
    wake-up are one write, so the parent has its note at once and a worker resumes it within a
    few leases, not after the 300 s safety poll."""
    from wfkit.engine.store import open_store

    directory, url, flows = here
    inner = open_store(url)
    with Engine(DiesAfterChildsLastCommit(inner, "parent-d/1"), lease_seconds=1) as engine:
        engine.start(flows.parent_of_kid, "d", workflow_id="parent-d")
        assert engine.work_once(run_id="parent-d")
        assert engine.get_run("parent-d").status.value == "WAITING"
        with pytest.raises(ProcessDied):
            engine.work_once(run_id="parent-d/1")
        assert engine.get_run("parent-d/1").status.value == "COMPLETED"
        assert engine.get_run("parent-d").status.value == "WAITING"
        assert inner.pending_events("parent-d", CHILD_EVENT.format(seq=1)), (
            "the child's end did not reach its parent"
        )
    began = time.monotonic()
    with Workers(directory, url, lease_seconds=1).start(1) as workers:
        status = wait_terminal(url, "parent-d", timeout=20)
    found = verdict(url, directory, workers, {"parent-d": "COMPLETED"})
    assert status == "COMPLETED", found.render()
    assert time.monotonic() - began < 20
    assert found.ok, found.render()


def test_runs_survive_another_process_holding_the_sqlite_write_lock(
    here: tuple[Path, str, Any],
) -> None:
    """A backup tool or a migration holds the write lock for 7 s, over the store's 5 s busy
    timeout, while healthy runs execute: the store's hiccup must not become the workflows'
    failure (no run compensates; every run completes)."""
    directory, url, flows = here
    ledger = Ledger(directory / "ledger.log")
    ids = [start(url, flows.torture, f"lock-{n:02d}", n, 60, False) for n in range(12)]
    with Workers(directory, url, lease_seconds=10).start(3) as workers:
        wait_for(
            lambda: len({line.run for line in ledger.read()}) >= 3, "three runs to be under way"
        )
        holder = sqlite3.connect(str(directory / "wf.db"), isolation_level=None, timeout=30)
        try:
            holder.execute("BEGIN IMMEDIATE")
            time.sleep(7)  # the point of the test: a lock held past the busy timeout
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        with Engine(url) as engine:
            try:
                wait_for(lambda: terminal(engine, ids), "every run to end", timeout=120)
            except AssertionError:
                pass  # the checker reports the runs that did not end
        dead = workers.dead()
    found = verdict(url, directory, workers, {run_id: "COMPLETED" for run_id in ids})
    assert found.ok, f"{found.render()}\nworkers that exited: {dead}\n{workers.logs()}"


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_paused_worker_s_step_notices_it_lost_the_lease(
    here: tuple[Path, str, Any], store: str, request: pytest.FixtureRequest
) -> None:
    """Worker A runs a long step (chunks, polling ``step_info().lease_lost()``) and is paused
    past its 1 s lease; worker B takes the run over and runs the step again. When A resumes,
    its step sees lease_lost() True and stops early; what it returned is never recorded
    (fencing), A lives on, and the run ends with B's result."""
    directory, url, flows = here
    if store == "postgres":
        url = request.getfixturevalue("postgres_database").new_url()
    ledger = Ledger(directory / "ledger.log")
    run_id = start(url, flows.lease_watch, "fenced", "fenced")
    with Workers(directory, url, lease_seconds=1).start(1) as workers:
        first = workers.procs[0]
        wait_for(
            lambda: [line for line in ledger.ran(run_id, "patient") if line.pid == first.pid],
            "worker A to start the step",
        )
        first.send_signal(signal.SIGSTOP)
        try:
            workers.start(1)
            second = workers.procs[1]
            wait_for(
                lambda: [line for line in ledger.ran(run_id, "patient") if line.pid == second.pid],
                "worker B to take the run over",
            )
        finally:
            first.send_signal(signal.SIGCONT)
        noticed = directory / f"noticed-{first.pid}"
        wait_for(noticed.exists, "worker A's step to notice it lost the lease")
        wait_for(
            lambda: [
                line
                for line in ledger.ran(run_id, "patient")
                if line.pid == first.pid and line.event == "end"
            ],
            "worker A's step to stop",
        )
        (directory / "go-fenced").touch()
        status = wait_terminal(url, run_id, timeout=30)
        alive = first.poll() is None
        with Engine(url) as engine:
            result = engine.result(run_id, drive=False)
            history = engine.history(run_id)
    found = verdict(url, directory, workers, {run_id: "COMPLETED"})
    assert status == "COMPLETED", found.render()
    assert result == f"done by {second.pid}"  # A's early return was refused
    assert alive, f"worker A exited\n{workers.logs()}"
    taken = [e.data.get("previous_owner", "") for e in history if e.type == "run_recovered"]
    assert len(taken) == 1 and f":{first.pid}:" in taken[0]
    completed = [e for e in history if e.type == "step_completed"]
    assert len(completed) == 1
    assert found.ok, found.render()
