"""Real worker processes, a killer, and an external ledger: the torture test's machinery,
shared with the engine's process-level reliability tests (test_torture.py,
test_reliability_processes.py).

``FLOWS`` is written to a temporary directory as ``flows.py`` and loaded by ``wfkit worker``
processes (and, where a test drives a run itself, by the test process). Every step and
compensation in it appends a ``start`` and an ``end`` line to ``ledger.log`` beside it: opened
with O_APPEND, one ``write`` per line, fsync'd, so the file is the truth about what ran even
when the process is killed a microsecond later. :mod:`torture_invariants` reads it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from torture_invariants import UNDO, Kill, Line, Op, Run, Spec, read_ledger

FLOWS = '''
    import json
    import os
    import random
    import time
    from pathlib import Path

    from wfkit import Context, Retry, step, step_info, workflow

    HERE = Path(__file__).resolve().parent
    LEDGER = str(HERE / "ledger.log")


    def record(event: str) -> None:
        """One ledger line: O_APPEND, one write, fsync (a kill never leaves half a line
        in the middle of the file)."""
        info = step_info()
        op = info.name if info.kind == "step" else "undo:" + info.name
        line = json.dumps({"run": info.run_id, "op": op, "seq": info.seq,
                           "attempt": info.attempt, "event": event, "pid": os.getpid(),
                           "mono": time.monotonic(), "wall": time.time()}, sort_keys=True)
        fd = os.open(LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)


    def work(pace: int) -> None:
        """Start, a few random milliseconds of 'work' (where kills land), end."""
        record("start")
        time.sleep(random.uniform(pace / 4, pace) / 1000)
        record("end")


    def hold_once(tag: str) -> None:
        """The first execution announces itself in a marker file and waits to be killed. The
        marker appears whole (written aside, then renamed): a test that sees it reads the pid
        at once, and an empty file would fail it."""
        marker = HERE / f"holding-{tag}"
        if not marker.exists():
            aside = HERE / f".holding-{tag}.{os.getpid()}"
            aside.write_text(str(os.getpid()))
            os.replace(aside, marker)
            time.sleep(120)


    def wait_for_go(tag: str) -> None:
        deadline = time.monotonic() + 60
        while not (HERE / f"go-{tag}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)


    # -- the torture workflow: 11 operations --------------------------------------------------
    @step
    def reserve(n: int, pace: int) -> str:
        work(pace)
        return f"r{n}"


    @reserve.compensation
    def release(n: int, pace: int, reservation: str) -> None:
        work(pace)


    @step
    def pa(n: int, pace: int) -> int:
        work(pace)
        return n


    @pa.compensation
    def undo_pa(n: int, pace: int, result: int) -> None:
        work(pace)


    @step
    def pb(n: int, pace: int) -> int:
        work(pace)
        return n + 1


    @pb.compensation
    def undo_pb(n: int, pace: int, result: int) -> None:
        work(pace)


    @step
    def notify(n: int, pace: int) -> str:
        work(pace)
        return "sent"


    @step
    def pc(n: int, pace: int) -> int:
        work(pace)
        return n + 2


    @pc.compensation
    def undo_pc(n: int, pace: int, result: int) -> None:
        work(pace)


    @step
    def pd(n: int, pace: int) -> int:
        work(pace)
        return n + 3


    @step
    def charge(n: int, pace: int) -> str:
        work(pace)
        return f"txn{n}"


    @charge.compensation
    def refund(n: int, pace: int, txn: str) -> None:
        work(pace)


    @step
    def explode(n: int, pace: int) -> None:
        record("start")
        time.sleep(random.uniform(pace / 4, pace) / 1000)
        record("end")
        raise ValueError(f"run {n} is doomed")


    @step
    def finish(n: int, pace: int) -> int:
        work(pace)
        return n


    @step
    def c1(n: int, pace: int) -> int:
        work(pace)
        return n


    @c1.compensation
    def undo_c1(n: int, pace: int, result: int) -> None:
        work(pace)


    @step
    def c2(n: int, pace: int) -> int:
        work(pace)
        return n


    @workflow
    def part(ctx: Context, n: int, pace: int) -> int:
        ctx.step(c1, n, pace)
        return ctx.step(c2, n, pace)


    @workflow
    def torture(ctx: Context, n: int, pace: int, doomed: bool) -> int:
        ctx.step(reserve, n, pace)
        ctx.parallel(ctx.call(pa, n, pace), ctx.call(pb, n, pace))
        ctx.sleep(0.2)
        ctx.child(part, n, pace)
        ctx.step(notify, n, pace, at_most_once=True)
        ctx.parallel(ctx.call(pc, n, pace), ctx.call(pd, n, pace))
        ctx.step(charge, n, pace)
        if doomed:
            ctx.step(explode, n, pace, retry=Retry(attempts=1))
        return ctx.step(finish, n, pace)


    @workflow
    async def torture_async(ctx: Context, n: int, pace: int, doomed: bool) -> int:
        # The same operations from an async body: on SQLite a worker runs these as tasks
        # on its event loop (wfkit.engine.task_lane), their checkpoints in group commits.
        await ctx.step(reserve, n, pace)
        await ctx.parallel(ctx.call(pa, n, pace), ctx.call(pb, n, pace))
        await ctx.sleep(0.2)
        await ctx.child(part, n, pace)
        await ctx.step(notify, n, pace, at_most_once=True)
        await ctx.parallel(ctx.call(pc, n, pace), ctx.call(pd, n, pace))
        await ctx.step(charge, n, pace)
        if doomed:
            await ctx.step(explode, n, pace, retry=Retry(attempts=1))
        return await ctx.step(finish, n, pace)


    # -- scenarios ------------------------------------------------------------------------------
    @step
    def one(tag: str) -> str:
        work(20)
        return "one"


    @one.compensation
    def undo_one(tag: str, result: str) -> None:
        work(20)


    @step
    def base(tag: str) -> str:
        work(20)
        return "base"


    @base.compensation
    def undo_base(tag: str, result: str) -> None:
        """The first execution waits to be killed (the last compensation of its run)."""
        record("start")
        hold_once("undo-base")
        record("end")


    @step
    def two(tag: str) -> str:
        work(20)
        return "two"


    @two.compensation
    def undo_two(tag: str, result: str) -> None:
        work(20)


    @step
    def gated(tag: str) -> str:
        record("start")
        wait_for_go(tag)
        record("end")
        return "gated"


    @gated.compensation
    def undo_gated(tag: str, result: str) -> None:
        work(20)


    @step
    def stall(tag: str) -> str:
        """The first execution waits to be killed; a re-run waits for the test's go."""
        record("start")
        hold_once("stall")
        wait_for_go(tag)
        record("end")
        return "stall"


    @step
    def three(tag: str) -> str:
        work(20)
        return "three"


    @three.compensation
    def undo_three(tag: str, result: str) -> None:
        work(20)


    @step
    def four(tag: str) -> str:
        work(20)
        return "four"


    @workflow
    def cancel_midstep(ctx: Context, tag: str) -> str:
        ctx.step(one, tag)
        ctx.step(gated, tag)
        ctx.step(three, tag)
        return ctx.step(four, tag)


    @workflow
    def cancel_then_undo(ctx: Context, tag: str) -> str:
        ctx.step(base, tag)
        ctx.step(two, tag)
        ctx.step(gated, tag)
        return ctx.step(three, tag)


    @workflow
    def cancel_asleep(ctx: Context, tag: str) -> str:
        ctx.step(base, tag)
        ctx.step(two, tag)
        ctx.sleep(600)
        return ctx.step(three, tag)


    @workflow
    def parallel_then_stall(ctx: Context, tag: str) -> str:
        ctx.step(one, tag)
        ctx.parallel(ctx.call(pa, 1, 20), ctx.call(pb, 1, 20), ctx.call(pd, 1, 20))
        ctx.step(stall, tag)
        return ctx.step(three, tag)


    @step
    def patient(tag: str) -> str:
        """Works in small chunks until the test's go, polling lease_lost() between chunks: a
        worker that lost the run stops early (and says so in a marker file) instead of doing
        the rest of the work its successor is doing again."""
        record("start")
        info = step_info()
        chunks = 0
        try:
            deadline = time.monotonic() + 60
            while not (HERE / f"go-{tag}").exists() and time.monotonic() < deadline:
                if info.lease_lost():
                    (HERE / f"noticed-{os.getpid()}").write_text(str(chunks))
                    return f"abandoned by {os.getpid()}"   # never recorded: fencing
                chunks += 1
                time.sleep(0.02)
        finally:
            record("end")
        return f"done by {os.getpid()}"


    @workflow
    def lease_watch(ctx: Context, tag: str) -> str:
        return ctx.step(patient, tag)


    @workflow
    def kid(ctx: Context, tag: str) -> str:
        return ctx.step(one, tag)


    @workflow
    def parent_of_kid(ctx: Context, tag: str) -> str:
        result = ctx.child(kid, tag)
        ctx.step(four, tag)
        return result
'''

#: What FLOWS promises the checker.
SPEC = Spec(
    compensated=frozenset(
        {"reserve", "pa", "pb", "pc", "charge", "c1", "one", "base", "two", "gated", "three"}
    ),
    at_most_once=frozenset({"notify"}),
)


def write_flows(directory: Path) -> Path:
    path = directory / "flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


def load_flows(path: Path) -> ModuleType:
    """Import the flows file in this process under a name of its own."""
    name = f"wfkit_flows_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 30.0, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# -- processes ---------------------------------------------------------------------------------
class Workers:
    """``wfkit worker`` processes on one store; each one's stderr goes to a file of its own
    (a pipe nobody reads would fill up and stall a chatty worker)."""

    def __init__(
        self,
        directory: Path,
        store_url: str,
        *,
        lease_seconds: float = 1.0,
        idle_interval: float = 0.05,
        concurrency: int = 1,
    ) -> None:
        self.directory = directory
        self.store_url = store_url
        self.args = [
            "--lease-seconds",
            f"{lease_seconds:g}",
            "--idle-interval",
            f"{idle_interval:g}",
            "--concurrency",
            str(concurrency),
        ]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kills: list[Kill] = []
        self.exits: list[tuple[int, int]] = []  # (pid, return code) of workers that ended
        self._started = 0
        self.log_of: dict[int, Path] = {}

    def env(self) -> dict[str, str]:
        return {**os.environ, "WFKIT_STORE": self.store_url}

    def spawn(self) -> subprocess.Popen[bytes]:
        self._started += 1
        path = self.directory / f"worker-{self._started}.log"
        with open(path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wfkit", "worker", "flows.py", *self.args],
                cwd=self.directory,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.log_of[proc.pid] = path
        return proc

    def start(self, count: int) -> Workers:
        self.procs += [self.spawn() for _ in range(count)]
        return self

    def kill(self, index: int, *, restart: bool = True) -> Kill:
        proc = self.procs[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kill = Kill(proc.pid, time.monotonic())  # reaped: it writes nothing after this
        self.kills.append(kill)
        if restart:
            self.procs[index] = self.spawn()
        return kill

    def dead(self) -> list[tuple[int, int | None]]:
        """Workers that exited on their own (not killed by the test)."""
        return [(p.pid, p.returncode) for p in self.procs if p.poll() is not None]

    def stop(self, timeout: float = 30.0) -> list[tuple[int, int | None]]:
        """SIGTERM every worker and wait; return (pid, exit code) of each (a worker still
        importing when the signal came, before it handles SIGTERM, ends with -SIGTERM: so
        each one gets a few seconds to finish starting first)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(
            self.serving(p.pid) or p.poll() is not None for p in self.procs
        ):
            time.sleep(0.05)
        time.sleep(0.1)  # from its banner to its signal handlers
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            codes.append((proc.pid, proc.returncode))
        return codes

    def serving(self, pid: int) -> bool:
        """Whether the worker got as far as announcing itself (and handling signals)."""
        path = self.log_of.get(pid)
        return path is not None and b" (concurrency " in path.read_bytes()

    def logs(self, tail: int = 15) -> str:
        parts = []
        for path in sorted(
            self.directory.glob("worker-*.log"), key=lambda p: int(p.stem.split("-")[1])
        ):
            lines = path.read_text(errors="replace").splitlines()
            parts.append(f"--- {path.name} (last {tail} lines)\n" + "\n".join(lines[-tail:]))
        return "\n".join(parts)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cli(
    directory: Path, store_url: str, *args: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfkit", *args],
        cwd=directory,
        env={**os.environ, "WFKIT_STORE": store_url},
        text=True,
        capture_output=True,
        timeout=timeout,
    )


class Killer(threading.Thread):
    """SIGKILLs a worker at random moments and restarts it, ``count`` times, until ``done``.

    Most kills go to a worker that is inside a step or compensation right now (read from the
    ledger's tail), so they land where a crash hurts: between a side effect and its
    checkpoint. The rest hit any worker, wherever it is (claiming, committing, idle).
    """

    def __init__(
        self,
        workers: Workers,
        ledger: Path,
        count: int,
        seed: int,
        done: Callable[[], bool],
        pause: tuple[float, float] = (0.1, 0.5),
    ) -> None:
        super().__init__(name="torture-killer", daemon=True)
        self.workers = workers
        self.ledger = ledger
        self.count = count
        self.rng = random.Random(seed)
        self.done = done
        self.pause = pause
        self.error: BaseException | None = None
        self._offset = 0
        self._open: dict[int, int] = {}  # pid -> executions in flight

    def run(self) -> None:
        try:
            while len(self.workers.kills) < self.count and not self.done():
                time.sleep(self.rng.uniform(*self.pause))
                busy = self._busy(wait=3.0) if self.rng.random() < 0.75 else []
                index = (
                    self.rng.choice(busy) if busy else self.rng.randrange(len(self.workers.procs))
                )
                if not self.done():
                    self.workers.kill(index)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _busy(self, wait: float) -> list[int]:
        """Indexes of the workers inside a step now, waiting up to ``wait`` s for one."""
        deadline = time.monotonic() + wait
        while True:
            self._read_tail()
            busy = [
                i for i, proc in enumerate(self.workers.procs) if self._open.get(proc.pid, 0) > 0
            ]
            if busy or time.monotonic() >= deadline or self.done():
                return busy
            time.sleep(0.005)

    def _read_tail(self) -> None:
        try:
            with open(self.ledger, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self._offset += end
        for raw in data[:end].splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            step = 1 if line["event"] == "start" else -1
            self._open[line["pid"]] = self._open.get(line["pid"], 0) + step


# -- the store's side --------------------------------------------------------------------------
def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _error_type(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return json.loads(text).get("type")
    except (ValueError, AttributeError):
        return None


def _owner_pid(owner: Any) -> int | None:
    """Workers are named "<host>:<pid>:<random>"."""
    try:
        return int(str(owner).split(":")[-2])
    except (IndexError, ValueError):
        return None


def snapshot(engine: Any, run_ids: Iterable[str]) -> tuple[list[Run], dict[str, str]]:
    """The store's view of the runs and of their children, as checker records; also
    {child id: parent id}."""
    runs: list[Run] = []
    children: dict[str, str] = {}
    todo = list(run_ids)
    seen: set[str] = set()
    while todo:
        run_id = todo.pop(0)
        if run_id in seen:
            continue
        seen.add(run_id)
        record = engine.store.get_run(run_id)
        if record is None:
            runs.append(Run(run_id, None))
            continue
        history = engine.store.history(run_id)
        checkpointed: dict[int, float] = {}
        taken: list[int] = []
        for entry in history:
            if entry.type in ("step_completed", "step_skipped") and entry.seq is not None:
                checkpointed.setdefault(entry.seq, entry.at.timestamp())
            # A takeover, or a worker handing the run back after a store outage: either way
            # that worker's step may run again elsewhere (at-least-once).
            if entry.type in ("run_recovered", "run_released"):
                pid = _owner_pid(entry.data.get("previous_owner"))
                if pid is not None:
                    taken.append(pid)
        ops = []
        for op in engine.store.operations(run_id):
            kind = getattr(op.kind, "value", op.kind)
            status = getattr(op.status, "value", op.status)
            ops.append(
                Op(
                    seq=op.seq,
                    kind=kind,
                    name=op.name,
                    status=status,
                    finished_at=_seconds(op.finished_at),
                    checkpointed_at=checkpointed.get(op.seq),
                    compensates=op.compensates,
                    error_type=_error_type(op.error),
                )
            )
        for child in engine.store.list_runs(parent_id=run_id):
            children[child.id] = run_id
            todo.append(child.id)
        runs.append(
            Run(
                run_id,
                getattr(record.status, "value", record.status),
                parent=record.parent_id,
                error_type=_error_type(record.error),
                compensate_on_cancel=record.compensate_on_cancel,
                ops=tuple(ops),
                taken_from=tuple(taken),
                history=tuple(entry.type for entry in history),
            )
        )
    return runs, children


def terminal(engine: Any, run_ids: Sequence[str]) -> bool:
    """These runs, and every other run of the store (their children), have all ended."""
    statuses = {run.id: run.status.value for run in engine.store.list_runs()}
    return all(run_id in statuses for run_id in run_ids) and all(
        status in ("COMPLETED", "COMPENSATED", "FAILED", "CANCELLED")
        for status in statuses.values()
    )


@dataclass
class Ledger:
    path: Path
    lines: list[Line] = field(default_factory=list)

    def read(self) -> list[Line]:
        self.lines = read_ledger(self.path)
        return self.lines

    def ran(self, run: str, op: str) -> list[Line]:
        return [line for line in self.read() if line.run == run and line.op == op]

    def started(self, run: str, op: str) -> bool:
        return any(line.event == "start" for line in self.ran(run, op))

    def undo_order(self, run: str) -> list[str]:
        """The steps undone in ``run``, in the order their compensations first started."""
        order: list[str] = []
        for line in self.read():
            if line.run == run and line.op.startswith(UNDO) and line.event == "start":
                name = line.op[len(UNDO) :]
                if name not in order:
                    order.append(name)
        return order
