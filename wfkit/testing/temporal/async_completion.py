"""Asynchronous activity completion: the client's side, played against the environment.

An activity that calls ``activity.raise_complete_async()`` returns without completing; on a
server the activity stays started, its heartbeat and start-to-close timeouts still running,
until someone holding its task token (or its workflow and activity ids) completes, fails or
heartbeats it through ``Client.get_async_activity_handle(...)``. The environment's
``get_async_activity_handle`` gives a handle with the same methods, so code written against a
client runs unchanged with the environment in the client's place. What a handle reports is what
the server would record: ``complete`` an ``ActivityTaskCompleted``, ``fail`` a failed attempt
(then the retry policy decides), ``report_cancellation`` an ``ActivityTaskCanceled``; each is
recorded when the environment next moves (the run's ``result()``, ``env.sleep``, a signal), as
a server answers the client at once and the worker later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import temporalio.converter
import temporalio.exceptions
from temporalio.api.common.v1 import Payloads
from temporalio.client import AsyncActivityCancelledError
from temporalio.service import RPCError, RPCStatusCode

from wfkit.testing.temporal.attempts import task_token

_NO_RESULT = object()


class AsyncActivityHandle:
    """What ``Client.get_async_activity_handle`` returns, for an activity of the environment:
    ``heartbeat``, ``complete``, ``fail`` and ``report_cancellation``, with a client's errors
    (``AsyncActivityCancelledError`` from a heartbeat once cancellation was requested, an
    ``RPCError`` NOT_FOUND for an activity that is no longer waiting for its completion)."""

    def __init__(
        self,
        env: Any,
        *,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
        task_token: bytes | None = None,
    ) -> None:
        if task_token is None and (workflow_id is None or activity_id is None):
            raise ValueError("give task_token, or workflow_id and activity_id")
        if task_token is not None and (workflow_id or run_id or activity_id):
            raise ValueError("give task_token, or workflow_id and activity_id, not both")
        self._env = env
        self._workflow_id = workflow_id
        self._run_id = run_id
        self._activity_id = activity_id
        self._task_token = task_token

    async def heartbeat(self, *details: Any, **_rpc: Any) -> None:
        """Record a heartbeat (it resets the heartbeat timeout); raises
        ``AsyncActivityCancelledError`` when the workflow asked to cancel the activity."""
        run, activity = self._pending()
        self._env._heartbeat(run, activity, details)
        activity.running.last_heartbeat = self._env._attempt_clock.now(self._env)
        if activity.cancel_requested_event_id:
            raise AsyncActivityCancelledError()

    async def complete(self, result: Any = _NO_RESULT, **_rpc: Any) -> None:
        """Complete the activity with ``result`` (None when not given)."""
        _, activity = self._pending()
        converter = temporalio.converter.DataConverter.default.payload_converter
        value = None if result is _NO_RESULT else result
        payloads = Payloads(payloads=converter.to_payloads([value]))
        activity.running.completion.set_result((True, payloads))

    async def fail(
        self, error: Exception, *, last_heartbeat_details: Sequence[Any] = (), **_rpc: Any
    ) -> None:
        """Fail this attempt with ``error``: the retry policy decides what follows."""
        run, activity = self._pending()
        if last_heartbeat_details:
            self._env._heartbeat(run, activity, tuple(last_heartbeat_details))
        activity.running.completion.set_result((False, error))

    async def report_cancellation(self, *details: Any, **_rpc: Any) -> None:
        """Confirm a cancellation the workflow requested: ``ActivityTaskCanceled``."""
        run, activity = self._pending()
        if details:
            self._env._heartbeat(run, activity, details)
        cancelled = temporalio.exceptions.CancelledError("Cancelled", *details)
        activity.running.completion.set_result((False, cancelled))

    def _pending(self) -> tuple[Any, Any]:
        """(run, activity) this handle names, while it waits for its completion."""
        for run in self._env.runs.values():
            if self._workflow_id is not None and run.id != self._workflow_id:
                continue
            if self._run_id and run._driver.run_id != self._run_id:
                continue
            for activity in run._activities.values():
                if self._names(run, activity) and _waiting(activity):
                    return run, activity
        raise RPCError(
            f"activity {self._shown()} is not waiting for an asynchronous completion (it "
            "completed, timed out, was never started that way, or its workflow closed)",
            RPCStatusCode.NOT_FOUND,
            b"",
        )

    def _names(self, run: Any, activity: Any) -> bool:
        if self._task_token is not None:
            return task_token(run, activity) == self._task_token
        return bool(activity.command.activity_id == self._activity_id)

    def _shown(self) -> str:
        if self._task_token is not None:
            return f"with task token {self._task_token!r}"
        return f"{self._activity_id!r} of workflow {self._workflow_id!r}"


def _waiting(activity: Any) -> bool:
    running = activity.running
    return bool(
        running is not None and running.completion is not None and not running.completion.done()
    )


__all__ = ["AsyncActivityHandle"]
