"""``wfkit worker MODULE...``: run workflows from the store until told to stop.

SIGTERM or SIGINT (Ctrl-C) asks the worker to stop gracefully: the activation in progress
finishes (its next checkpoint is written) and the loop ends; a second signal stops at once
(the run is taken over by another worker when its lease expires). Run transitions are logged
one line each to stderr, read from the checkpoints the engine writes (see
:class:`TransitionLog`), so the log shows what is durable, not what was merely attempted.
A store that stops answering (a database restart, a lock held too long) is waited out:
the worker says ``store unavailable: ...; trying again in Ns`` when it first meets the fault
(in its claim loop, in a running activation or in the heartbeat), retries with backoff, and
says ``store available again`` once it answers; only a store it cannot open at start is an
error (exit 2), so a mistyped URL fails at once instead of retrying forever.
With ``-v`` the engine's progress events (each step, retry, compensation and wait) are logged
too, in the same plain form as ``wfkit run`` prints them off a terminal.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from wfkit.cli.app import App
from wfkit.cli.engine_options import say, store_option
from wfkit.cli.payload_option import engine_limit, max_payload_option


def _check_lease(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """At least the engine's minimum: the heartbeat renews a lease every third of it, so a
    shorter one is lost between renewals and runs keep changing hands."""
    from wfkit.engine.engine import MIN_LEASE_SECONDS

    if not value >= MIN_LEASE_SECONDS or value == float("inf"):
        raise click.BadParameter(
            f"{value:g} is too short: the heartbeat renews the lease every third of it "
            f"(use at least {MIN_LEASE_SECONDS:g} second; the default is 30)"
            if value < MIN_LEASE_SECONDS
            else f"{value:g} is not a number of seconds (the default is 30)"
        )
    return value


@click.command("worker")
@click.argument("modules", nargs=-1, required=True, metavar="MODULE...")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs advanced at the same time: a thread each, or for async workflows on SQLite "
    "tasks on one event loop whose checkpoints share commits.",
)
@click.option(
    "--idle-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait between looks at the store when nothing is runnable.",
)
@click.option(
    "--lease-seconds",
    type=float,
    default=30.0,
    callback=_check_lease,
    show_default=True,
    metavar="SECONDS",
    help="How long a run stays this worker's without a heartbeat; a crashed "
    "worker's runs are taken over after this.",
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    metavar="NAME",
    help="Dequeue and run only this queue's runs (repeatable); runs on no queue are left "
    "to workers without --queue.",
)
@max_payload_option
@store_option
@click.pass_obj
def worker(
    app: App,
    modules: Sequence[str],
    concurrency: int,
    idle_interval: float,
    lease_seconds: float,
    max_payload: int | None,
    store_url: str,
    queues: Sequence[str],
) -> None:
    """Run the workflows defined in MODULE... (files or dotted names) until SIGTERM/Ctrl-C.

    \b
    wfkit worker fixtures/examples/orders.py fixtures/examples/approval.py
    wfkit worker myapp.flows --concurrency 4
    wfkit worker myapp.flows --queue emails --queue sms
    """
    from wfkit.cli.progress import PlainProgress
    from wfkit.engine.engine import Engine
    from wfkit.engine.loader import load_modules
    from wfkit.engine.store import display_url, open_store
    from wfkit.engine.store.base import async_commit

    workflows = load_modules(modules)
    only_queues = _known_queues(workflows, queues) if queues else None
    log = TransitionLog(lambda line: say(app, line))
    store = observed(open_store(store_url), log)
    # -v adds each step, retry, compensation and wait, as `wfkit run` shows them.
    observer = PlainProgress(log.note) if app.verbosity >= 1 else None
    engine = Engine(
        store,
        workflows=workflows,
        lease_seconds=lease_seconds,
        observer=observer,
        **engine_limit(max_payload),
    )
    log.clock = engine.clock
    stop = threading.Event()
    try:
        say(
            app,
            f"worker {engine.owner} on {display_url(store_url)}: "
            f"{', '.join(wf.name for wf in workflows)} (concurrency {concurrency}; "
            + (f"queues {', '.join(only_queues)}; " if only_queues else "")
            + (
                "async workflows as tasks on one event loop; "
                if any(wf.is_async for wf in workflows) and async_commit(store) is not None
                else ""
            )
            + "Ctrl-C or SIGTERM stops)",
        )
        with _stop_on_signals(
            stop,
            lambda: say(
                app, "stopping: finishing the current activation (signal again to quit now)"
            ),
        ):
            engine.run_worker(
                stop=stop,
                concurrency=concurrency,
                idle_interval=idle_interval,
                only_queues=only_queues,
                on_store_error=lambda error, pause: say(
                    app, f"store unavailable: {error.message}; trying again in {pause:g}s"
                ),
                on_store_back=lambda seconds: say(
                    app, f"store available again (unavailable for {seconds:.1f}s)"
                ),
            )
        say(app, "worker stopped")
    finally:
        engine.close()


def _known_queues(workflows: Sequence[Any], names: Sequence[str]) -> list[str]:
    """``--queue`` names, each declared by a loaded workflow's ``@workflow(queue=...)``,
    checked before the store is opened (a typo leaves the store untouched)."""
    from wfkit.errors import UsageError

    declared = sorted({wf.queue.name for wf in workflows if wf.queue is not None})
    unknown = sorted(set(names) - set(declared))
    if unknown:
        raise UsageError(
            f"unknown queue {unknown[0]!r} (the modules declare: "
            f"{', '.join(declared) or 'no queue'})",
            hint="declare it with @workflow(queue=Queue(NAME, ...)) in a module given",
        )
    return sorted(set(names))


@contextmanager
def _stop_on_signals(stop: threading.Event, announce: Callable[[], None]) -> Iterator[None]:
    """First SIGTERM/SIGINT sets ``stop``; a second one interrupts (KeyboardInterrupt).

    The handler only sets events: it runs in the main thread between two of its bytecodes,
    maybe while that thread holds the console's or stderr's lock, so the announcement is
    printed by a thread of its own."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled in the main thread (e.g. under a test runner)
        return
    signalled = threading.Event()
    leaving = False

    def tell() -> None:
        signalled.wait()
        if not leaving:
            announce()

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        signalled.set()

    teller = threading.Thread(target=tell, name="wfkit-worker-signals", daemon=True)
    teller.start()
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if not signalled.is_set():
            leaving = True
            signalled.set()
        teller.join(timeout=5)


class TransitionLog:
    """Turns the checkpoints a worker writes into one line per run status change."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._status: dict[str, str] = {}  # runs this worker has claimed and not seen end
        self._workflow: dict[str, str] = {}
        self._lock = threading.Lock()
        self.clock: Any = None

    def claimed(self, run: Any) -> None:
        with self._lock:
            self._status[run.id] = str(run.status)
            self._workflow[run.id] = run.workflow
        if run.lease_owner is not None:
            self._line(
                run.id, run.workflow, f"taken over from {run.lease_owner} (its lease expired)"
            )

    def committed(self, run_id: str, changes: dict[str, Any]) -> None:
        status = changes.get("status")
        if status is None:
            return
        status = str(status)
        with self._lock:
            before = self._status.get(run_id)
            workflow = self._workflow.get(run_id)
            if status in _TERMINAL:  # forget finished runs: a worker runs for weeks
                self._status.pop(run_id, None)
                self._workflow.pop(run_id, None)
            else:
                self._status[run_id] = status
            if before == status:
                return
        error = changes.get("error")
        detail = ""
        if error and status in ("COMPENSATING", "FAILED"):
            detail = " " + _error_text(error)
        arrow = f"{before} -> {status}" if before else status
        self._line(run_id, workflow, arrow + detail)

    def note(self, text: str) -> None:
        """A progress line (``-v``), stamped like the transitions so the log reads in order."""
        self._line("", None, text)

    def _line(self, run_id: str, workflow: str | None, text: str) -> None:
        when = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ") if self.clock else ""
        self._emit(" ".join(part for part in (when, run_id, workflow or "", text) if part))


_TERMINAL = frozenset({"COMPLETED", "COMPENSATED", "FAILED", "CANCELLED"})


def _error_text(error: Any) -> str:
    try:
        data = json.loads(error) if isinstance(error, str) else error
    except ValueError:
        return str(error)
    if not isinstance(data, dict):
        return str(data)
    message = str(data.get("message", "")).strip().splitlines()
    return f"({data.get('type', 'Error')}: {message[0] if message else ''})"


class ObservedStore:
    """A store that tells a :class:`TransitionLog` about claims and status changes.

    A wrapper rather than an engine hook: the engine's checkpoints already carry every status
    change, and only the worker command wants to hear about them.
    """

    def __init__(self, inner: Any, log: TransitionLog) -> None:
        self._inner = inner
        self._log = log
        self.url = inner.url

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        runs = self._inner.claim(*args, **kwargs)
        for run in runs:
            self._log.claimed(run)
        return runs

    def commit(self, run_id: str, checkpoint: Any, **kwargs: Any) -> bool:
        # The flag returned is the run's cancel request, read in the commit's transaction:
        # the engine stops at the next checkpoint on it, so it must pass through unchanged.
        cancel_requested: bool = self._inner.commit(run_id, checkpoint, **kwargs)
        self._log.committed(run_id, dict(checkpoint.run))
        return cancel_requested

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _ObservedAsyncStore(ObservedStore):
    """An observed store whose checkpoints can also be awaited (SQLite): the worker's event
    loop then runs async workflows (wfkit.engine.task_lane), and every status change still
    passes through here."""

    async def commit_async(self, run_id: str, checkpoint: Any, **kwargs: Any) -> bool:
        cancel_requested: bool = await self._inner.commit_async(run_id, checkpoint, **kwargs)
        self._log.committed(run_id, dict(checkpoint.run))
        return cancel_requested


def observed(inner: Any, log: TransitionLog) -> ObservedStore:
    """``inner`` observed, offering ``commit_async`` exactly when ``inner`` does."""
    from wfkit.engine.store.base import async_commit

    if async_commit(inner) is not None:
        return _ObservedAsyncStore(inner, log)
    return ObservedStore(inner, log)
