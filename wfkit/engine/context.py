"""``Context``: the workflow body's only door to the outside world.

Everything a workflow may do that is not pure computation goes through here, so it is
recorded once and replayed after that: steps, parallel calls, timers, events, child
workflows, version gates, and deterministic stand-ins for the clock and randomness. In an
``async def`` workflow the durable methods return awaitables; in a plain one they block.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wfkit.engine.core.spec import CallSite, base_spec, resolve
from wfkit.engine.core.waits import child_flow, event_flow, patched, sleep_flow
from wfkit.engine.retry import Retry
from wfkit.engine.status import OpKind

if TYPE_CHECKING:
    from wfkit.engine.core.activation import Activation
    from wfkit.engine.definitions import WorkflowDef


@dataclass(frozen=True)
class Call:
    """A step call described but not yet run: the argument of :meth:`Context.parallel`."""

    target: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    site: CallSite
    # file:line of the ctx.call(...) in the workflow: parallel calls run on other threads,
    # where the workflow's frame is out of sight, so it is taken where the call is written.
    source: str | None = None


class Context:
    """The handle a workflow function receives as its first argument."""

    def __init__(self, activation: Activation) -> None:
        self._act = activation
        self._async = activation.wf.is_async
        self._logger: logging.LoggerAdapter[logging.Logger] | None = None

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that is silent while the body replays (each line is logged once)."""
        if self._logger is None:
            self._logger = _ReplayAwareLogger(
                logging.getLogger(f"wfkit.workflow.{self._act.wf.name}"), self._act
            )
        return self._logger

    # -- identity ------------------------------------------------------------------------------
    @property
    def workflow_id(self) -> str:
        return self._act.run.id

    @property
    def workflow_name(self) -> str:
        return self._act.wf.name

    @property
    def is_replaying(self) -> bool:
        """True while the body re-runs operations that are already recorded."""
        return self._act.is_replaying

    # -- steps -----------------------------------------------------------------------------------
    def step(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        compensate: Callable[..., Any] | None = None,
        optional: bool | None = None,
        idempotent: bool | None = None,
        at_most_once: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` durably: retried, checkpointed, replayed.

        Call-site options override the ``@step`` definition's. ``optional=True`` turns a
        failure (after retries) into ``None`` instead of an exception, so it never rolls the
        workflow back.
        """
        if (
            name is None
            and retry is None
            and timeout is None
            and compensate is None
            and optional is None
            and idempotent is None
            and at_most_once is None
        ):
            spec = base_spec(fn)  # the common call: no per-call options to merge
        else:
            spec = resolve(
                fn,
                CallSite(
                    name=name,
                    retry=retry,
                    timeout=timeout,
                    compensate=compensate,
                    optional=optional,
                    idempotent=idempotent,
                    at_most_once=at_most_once,
                ),
            )
        flow = self._act.step_flow(spec, args, kwargs)
        if self._async:
            return self._act.drive_async(flow)
        return self._act.drive(flow)

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        compensate: Callable[..., Any] | None = None,
        optional: bool | None = None,
        idempotent: bool | None = None,
        at_most_once: bool | None = None,
        **kwargs: Any,
    ) -> Call:
        """Describe a step call for :meth:`parallel` (nothing runs yet)."""
        from wfkit.engine.core.call_sites import caller_source

        return Call(
            fn,
            args,
            kwargs,
            CallSite(
                name=name,
                retry=retry,
                timeout=timeout,
                compensate=compensate,
                optional=optional,
                idempotent=idempotent,
                at_most_once=at_most_once,
            ),
            caller_source(),
        )

    def parallel(self, *calls: Call) -> Any:
        """Run calls concurrently; results come back (and are recorded) in call order."""
        for c in calls:
            if not isinstance(c, Call):
                raise TypeError(
                    f"ctx.parallel takes ctx.call(...) descriptions, got {type(c).__name__}"
                )
        from wfkit.engine.core.call_sites import caller_source

        act = self._act
        flows = []
        # The flows run later, from the engine's frames: each call records the line of its
        # ctx.call(...), or else the line of this ctx.parallel(...).
        source = caller_source()
        for c in calls:
            spec = resolve(c.target, c.site)
            seq, rec = act.take(OpKind.STEP, spec.name, frontier=False)
            flows.append(
                act.step_flow(spec, c.args, c.kwargs, seq=seq, rec=rec, source=c.source or source)
            )
        if self._async:
            return act.drive_parallel_async(flows)
        return act.drive_parallel(flows)

    # -- waiting -------------------------------------------------------------------------------
    def sleep(self, duration: timedelta | float, *, name: str = "sleep") -> Any:
        """A durable timer: the run parks and the worker is free until it fires."""
        return self._run(sleep_flow(self._act, duration, name))

    def wait_for_event(
        self, name: str, timeout: timedelta | float | None = None, *, type: Any = Any
    ) -> Any:  # noqa: A002 - reads well at the call site
        """The payload of the next event ``name`` sent to this run; ``None`` on timeout.

        Events sent before the wait are buffered and delivered in the order sent. ``type``
        is the annotation the payload is decoded to.
        """
        return self._run(event_flow(self._act, name, timeout, type))

    def child(
        self, workflow: WorkflowDef[Any], *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> Any:
        """Start a child workflow (its own run and id) and wait for its result."""
        return self._run(child_flow(self._act, workflow, args, kwargs, workflow_id))

    # -- versioning and deterministic helpers ----------------------------------------------------
    def patched(self, patch_id: str) -> bool:
        """Gate a code change: True for runs that reach here on new code, False for older ones."""
        return patched(self._act, patch_id)

    def now(self) -> datetime:
        """The recorded time of the latest durable operation (or the run's start)."""
        return self._act.now()

    def uuid4(self) -> uuid.UUID:
        """A random-looking UUID that replay repeats (derived from the run's seed)."""
        return uuid.UUID(int=self._act.rng.getrandbits(128), version=4)

    def random(self) -> float:
        """A float in [0, 1) that replay repeats (derived from the run's seed)."""
        return self._act.rng.random()

    # -- plumbing --------------------------------------------------------------------------------
    def _run(self, flow: Any) -> Any:
        if self._async:
            return self._act.drive_async(flow)
        return self._act.drive(flow)

    def __repr__(self) -> str:
        return f"<Context {self.workflow_name} {self.workflow_id}>"


if TYPE_CHECKING:  # generic in typeshed; subscriptable at run time only from Python 3.11
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:
    _LoggerAdapter = logging.LoggerAdapter


class _ReplayAwareLogger(_LoggerAdapter):
    """Logs once per real execution: silent while the body replays recorded operations."""

    def __init__(self, logger: logging.Logger, activation: Activation) -> None:
        super().__init__(logger, {})
        self._act = activation

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        return not self._act.is_replaying and super().isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("workflow_id", self._act.run.id)
        kwargs["extra"] = extra
        return msg, kwargs
