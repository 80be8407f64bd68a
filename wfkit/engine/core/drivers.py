"""How an activation carries out what its flows ask for (:mod:`wfkit.engine.core.flow_requests`):
the sync drivers run attempts inline (a parallel group in threads), the async drivers await
them on the event loop; both write the checkpoints a flow yields and pause where it asks.

:class:`Drivers` is a base class of :class:`wfkit.engine.core.activation.Activation`, not a
helper it calls: a step's attempt and checkpoint go through these methods once per step, so
they stay methods of the activation, with no call added on the way (the activation module
keeps the numbering, the checkpoints and the step flow).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from wfkit.engine.core.flow_requests import Attempt, Checkpointing, Flow, Pause
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.step_calls import call_step, with_timeout
from wfkit.engine.core.unwinding import settle
from wfkit.engine.definitions import WorkflowDef, current_activation
from wfkit.engine.running_step import StepInfo, running_step
from wfkit.engine.store.base import RunRecord


class Drivers:
    """The drivers and attempts of an activation; the activation provides what they use."""

    rt: Runtime
    run: RunRecord
    wf: WorkflowDef[Any]
    lease_owner: str | None
    commit: Callable[..., datetime]
    commit_async: Callable[..., Awaitable[datetime]]

    # -- attempts: how a step function actually runs -----------------------------------------
    def step_info(self, req: Attempt) -> StepInfo:
        """The attempt as :func:`wfkit.step_info` shows it to the step's code; under a lease,
        its ``lease_lost()`` asks the worker's heartbeat."""
        info = StepInfo(
            run_id=self.run.id,
            workflow=self.wf.name,
            seq=req.seq,
            name=req.spec.name,
            kind=req.kind.value,
            attempt=req.number,
            attempts=req.spec.retry.attempts,
        )
        leases = self.rt.leases
        if leases is not None and self.lease_owner is not None:
            object.__setattr__(info, "_lease_check", functools.partial(leases.lost, self.run.id))
        return info

    def run_attempt(self, req: Attempt) -> Any:
        """Run one attempt synchronously (in the workflow's thread or a pool thread)."""
        token = running_step.set(functools.partial(self.step_info, req))  # wfkit.step_info()
        try:
            if self.rt.interceptor is not None:
                return self.rt.interceptor.invoke(
                    req.kind,
                    req.seq,
                    req.number,
                    req.spec,
                    req.args,
                    req.kwargs,
                    functools.partial(call_step, req),
                )
            return call_step(req)
        finally:
            running_step.reset(token)

    async def run_attempt_async(self, req: Attempt) -> Any:
        if self.rt.interceptor is not None or not req.spec.is_async:
            # Sync functions (and the harness's interceptor) run in a thread, so the event
            # loop keeps going; a sync step cannot be killed, so a timeout abandons it.
            coro = asyncio.to_thread(self.run_attempt, replace(req, spec=req.spec))
            if self.rt.interceptor is None and req.spec.timeout is not None:
                return await with_timeout(coro, req.spec.timeout, req.spec.name)
            return await coro
        token = current_activation.set(None)
        attempt = running_step.set(functools.partial(self.step_info, req))
        try:
            return await with_timeout(
                req.spec.fn(*req.args, **req.kwargs), req.spec.timeout, req.spec.name
            )
        finally:
            running_step.reset(attempt)
            current_activation.reset(token)

    # -- drivers ----------------------------------------------------------------------------
    def drive(self, flow: Flow) -> Any:
        send: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                request = flow.send(send) if thrown is None else flow.throw(thrown)
            except StopIteration as done:
                return done.value
            send = thrown = None
            if isinstance(request, Attempt):
                try:
                    send = (self.run_attempt(request), None)
                except Exception as exc:
                    send = (None, exc)
            elif isinstance(request, Checkpointing):
                try:
                    self.commit(
                        request.ops, request.history, at=request.at, **(request.extra or {})
                    )
                except BaseException as exc:
                    thrown = exc
            elif isinstance(request, Pause):
                self.rt.clock.sleep(request.seconds)
            else:  # pragma: no cover - a programming error in wfkit
                raise TypeError(f"unknown request {request!r}")

    async def drive_async(self, flow: Flow) -> Any:
        send: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                request = flow.send(send) if thrown is None else flow.throw(thrown)
            except StopIteration as done:
                return done.value
            send = thrown = None
            if isinstance(request, Attempt):
                try:
                    send = (await self.run_attempt_async(request), None)
                except Exception as exc:
                    send = (None, exc)
            elif isinstance(request, Checkpointing):
                try:
                    await self.commit_async(
                        request.ops, request.history, at=request.at, **(request.extra or {})
                    )
                except BaseException as exc:
                    thrown = exc
            elif isinstance(request, Pause):
                await asyncio.to_thread(self.rt.clock.sleep, request.seconds)
            else:  # pragma: no cover
                raise TypeError(f"unknown request {request!r}")

    def drive_parallel(self, flows: list[Flow]) -> list[Any]:
        """Run flows concurrently in threads; results and errors come back in call order."""
        if len(flows) <= 1:
            return [self.drive(f) for f in flows]
        outcomes: list[tuple[Any, BaseException | None]] = [(None, None)] * len(flows)

        def one(i: int) -> None:
            try:
                outcomes[i] = (self.drive(flows[i]), None)
            except BaseException as exc:  # Suspend and crashes too: re-raised below in order
                outcomes[i] = (None, exc)

        with ThreadPoolExecutor(
            max_workers=min(len(flows), 16), thread_name_prefix="wfkit-parallel"
        ) as pool:
            list(pool.map(one, range(len(flows))))
        return settle(outcomes)

    async def drive_parallel_async(self, flows: list[Flow]) -> list[Any]:
        results = await asyncio.gather(
            *(self.drive_async(f) for f in flows), return_exceptions=True
        )
        return settle([(None, r) if isinstance(r, BaseException) else (r, None) for r in results])
