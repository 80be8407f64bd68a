"""The checks a workflow or a queue passes when an engine registers it (``Engine.register``,
``Engine.register_queue``, and ``start``, which registers its workflow).

Check early: a name taken twice, a schedule whose input does not bind, a queue declared twice
with different limits is a :class:`DefinitionError` at registration, not at a first tick or
dequeue in a worker. Kept apart from :mod:`wfkit.engine.engine`, which owns the registries
and adds to them once these pass.
"""

from __future__ import annotations

from typing import Any

from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.starting import decode_input, encode_input
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.queues import Queue
from wfkit.errors import DefinitionError, UsageError


def check_workflow(rt: Runtime, workflows: dict[str, WorkflowDef[Any]], wf: Any) -> None:
    """``wf`` may join ``workflows`` (by name): it is a @workflow, no other function has its
    name, and its schedules fit (:func:`check_schedules`)."""
    if not isinstance(wf, WorkflowDef):
        raise DefinitionError(
            f"expected a @workflow, got {type(wf).__name__}",
            hint="decorate the function with @wfkit.workflow",
        )
    known = workflows.get(wf.name)
    if known is not None and known.fn is not wf.fn:
        raise DefinitionError(
            f"two different workflows are named {wf.name!r} "
            f"({known.fn.__module__}.{known.fn.__qualname__} and "
            f"{wf.fn.__module__}.{wf.fn.__qualname__})",
            hint="give one of them @workflow(name=...)",
        )
    check_schedules(rt, workflows, wf)


def check_schedules(
    rt: Runtime, workflows: dict[str, WorkflowDef[Any]], wf: WorkflowDef[Any]
) -> None:
    """A schedule's input must bind now, not at its first tick in a worker; its name must
    be its own among the engine's schedules (the name keys its state in the store)."""
    taken = {name: other.name for other in workflows.values() for name, _ in other.schedules}
    for name, spec in wf.schedules:
        if taken.get(name, wf.name) != wf.name:
            raise DefinitionError(
                f"workflows {taken[name]!r} and {wf.name!r} both have a schedule named {name!r}",
                hint="give one of them Cron/Every/At(..., name=...)",
            )
        try:
            encoded = encode_input(rt, wf, tuple(spec.args), dict(spec.kwargs))
            decode_input(rt, wf, encoded)
        except UsageError as exc:
            raise DefinitionError(
                f"schedule {name!r} of workflow {wf.name!r}: its input does not fit: {exc}",
                hint="give the schedule args=/kwargs= the workflow takes",
            ) from None


def check_queue(queues: dict[str, Queue], queue: Any) -> None:
    """``queue`` may join ``queues`` (by name): a :class:`Queue`, and not one declared
    before under its name with other limits."""
    if not isinstance(queue, Queue):
        raise DefinitionError(
            f"expected a wfkit.Queue, got {type(queue).__name__}",
            hint="Engine(..., queues=[Queue('emails', concurrency=5)])",
        )
    known = queues.get(queue.name)
    if known is not None and known != queue:
        raise DefinitionError(
            f"queue {queue.name!r} is declared twice with different limits",
            hint="declare each queue once",
        )
