"""Calling a step function once, outside the workflow body: with no activation current, with
its timeout (a sync step with a deadline runs in a thread of its own, which cannot be killed:
a late result is dropped), an async one on an event loop of its own.

Used by the drivers (:mod:`wfkit.engine.core.drivers`) for each attempt; plain functions, so
an attempt costs no more calls than when they were part of the activation module.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

from wfkit.engine.core.flow_requests import Attempt
from wfkit.engine.definitions import current_activation
from wfkit.errors import StepTimeout


def call_step(req: Attempt) -> Any:
    """Call the step function once, outside the workflow body (no activation is current)."""
    spec = req.spec
    token = current_activation.set(None)
    try:
        if spec.is_async:
            return asyncio.run(
                with_timeout(spec.fn(*req.args, **req.kwargs), spec.timeout, spec.name)
            )
        if spec.timeout is None:
            return spec.fn(*req.args, **req.kwargs)
        return call_in_thread(spec.fn, req.args, req.kwargs, spec.timeout, spec.name)
    finally:
        current_activation.reset(token)


async def with_timeout(awaitable: Any, timeout: float | None, name: str) -> Any:
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise StepTimeout(name, timeout) from None


def call_in_thread(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float, name: str
) -> Any:
    """Run a sync step with a deadline. A thread cannot be killed: a late result is dropped."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    # The step's context (wfkit.step_info(), no current workflow) goes with it to the thread.
    thread = threading.Thread(
        target=contextvars.copy_context().run,
        args=(target,),
        name=f"wfkit-step-{name}",
        daemon=True,
    )
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StepTimeout(name, timeout)
    if "error" in box:
        raise box["error"]
    return box.get("value")
