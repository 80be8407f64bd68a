"""``@workflow`` and ``@step``: turn plain functions into durable definitions.

Definitions are checked when the decorator is applied, so a mistake (a workflow without a
context parameter, a negative timeout, a compensation that cannot take the step's arguments)
fails at import time with a clear :class:`DefinitionError`, not in production at 3 a.m.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar, overload

from wfkit.engine.binding import is_context_parameter, positional_count
from wfkit.engine.ids import check_id
from wfkit.engine.queues import Queue
from wfkit.engine.retry import Retry
from wfkit.engine.run_ids import IdSource, RunIdTemplate
from wfkit.engine.schedules import At, Cron, Every, Schedule
from wfkit.errors import DefinitionError, InvalidId

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class WorkflowContext(Protocol):
    """Where a decorated function called inside a running workflow body is routed: the
    workflow's :class:`wfkit.Context`."""

    def step(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

    def child(self, workflow: WorkflowDef[Any], *args: Any, **kwargs: Any) -> Any: ...


class RunningWorkflow(Protocol):
    """What this module needs of the engine's activation (``wfkit.engine.core.activation``): a
    protocol, so the authoring API does not import the engine core that imports it."""

    @property
    def context(self) -> WorkflowContext: ...

    def in_workflow_body(self) -> bool: ...


# The activation whose workflow body runs in this thread/task. A context variable, not a
# global: each thread and asyncio task sees its own, so a @step called directly from a running
# workflow body is routed through the durable path, while the same call anywhere else (a test,
# another step) is a plain function call.
current_activation: contextvars.ContextVar[RunningWorkflow | None] = contextvars.ContextVar(
    "wfkit_current_activation", default=None
)


class StepDef(Generic[R]):
    """A function made durable: retried, checkpointed, and optionally compensated."""

    def __init__(
        self,
        fn: Callable[..., R],
        *,
        name: str | None,
        retry: Retry | None,
        timeout: float | None,
        idempotent: bool,
        at_most_once: bool,
    ) -> None:
        if not callable(fn):
            raise DefinitionError(f"@step needs a function, got {type(fn).__name__}")
        if isinstance(fn, (StepDef, WorkflowDef)):
            raise DefinitionError(
                f"{_qualname(fn)} is already decorated", hint="apply @step or @workflow once"
            )
        self.fn = fn
        self.name = _check_name(name, fn, "@step")
        if retry is not None and not isinstance(retry, Retry):
            raise DefinitionError(
                f"@step {self.name!r}: retry must be a wfkit.Retry, got {type(retry).__name__}",
                hint="retry=Retry(attempts=3)",
            )
        self.retry = retry
        self.timeout = _check_timeout(timeout, self.name)
        self.idempotent = bool(idempotent)
        self.at_most_once = bool(at_most_once)
        self.is_async = inspect.iscoroutinefunction(fn)
        self.compensate: Callable[..., Any] | None = None
        self._positional = positional_count(fn)
        functools.update_wrapper(self, fn)

    def compensation(self, fn: F) -> F:
        """Register the function that undoes this step: called with (original args..., result)."""
        check_compensation(fn, self.name, self._positional)
        self.compensate = fn
        self.__dict__.pop("_wfkit_spec", None)  # the merged spec must see the compensation
        return fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        activation = current_activation.get()
        if activation is not None and activation.in_workflow_body():
            return activation.context.step(self, *args, **kwargs)
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<step {self.name}>"


class WorkflowDef(Generic[R]):
    """A workflow: a deterministic function of its inputs and its durable operations' results."""

    def __init__(
        self,
        fn: Callable[..., R],
        *,
        name: str | None,
        version: int,
        workflow_id: IdSource | None = None,
        schedule: Schedule | Sequence[Schedule] | None = None,
        queue: Queue | None = None,
    ) -> None:
        if not callable(fn):
            raise DefinitionError(f"@workflow needs a function, got {type(fn).__name__}")
        if isinstance(fn, (StepDef, WorkflowDef)):
            raise DefinitionError(
                f"{_qualname(fn)} is already decorated", hint="apply @step or @workflow once"
            )
        self.fn = fn
        self.name = _check_name(name, fn, "@workflow")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DefinitionError(
                f"@workflow {self.name!r}: version must be an integer >= 1, got {version!r}"
            )
        self.version = version
        self.is_async = inspect.iscoroutinefunction(fn)
        _check_context_parameter(fn, self.name)
        # How a run started without an explicit id is named (None: a new UUID each time).
        self.run_id_template = (
            None if workflow_id is None else RunIdTemplate(workflow_id, fn, self.name)
        )
        # When it starts by itself: (schedule name, schedule), names unique (wfkit.engine.schedules).
        self.schedules = _named_schedules(self.name, schedule)
        if queue is not None and not isinstance(queue, Queue):
            raise DefinitionError(
                f"@workflow {self.name!r}: queue= takes a wfkit.Queue, got {queue!r}",
                hint='e.g. queue=Queue("emails", concurrency=5)',
            )
        # The queue its runs start on unless start() names another (wfkit.engine.queues).
        self.queue = queue
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        activation = current_activation.get()
        if activation is not None and activation.in_workflow_body():
            return activation.context.child(self, *args, **kwargs)
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<workflow {self.name} v{self.version}>"


@overload
def step(fn: Callable[..., R], /) -> StepDef[R]: ...
@overload
def step(
    *,
    name: str | None = None,
    retry: Retry | None = None,
    timeout: float | None = None,
    idempotent: bool = False,
    at_most_once: bool = False,
) -> Callable[[Callable[..., R]], StepDef[R]]: ...
def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    retry: Retry | None = None,
    timeout: float | None = None,
    idempotent: bool = False,
    at_most_once: bool = False,
) -> Any:
    """Declare a durable step. Usable bare (``@step``) or with options (``@step(retry=...)``)."""

    def wrap(f: Callable[..., Any]) -> StepDef[Any]:
        return StepDef(
            f,
            name=name,
            retry=retry,
            timeout=timeout,
            idempotent=idempotent,
            at_most_once=at_most_once,
        )

    return wrap(fn) if fn is not None else wrap


@overload
def workflow(fn: Callable[..., R], /) -> WorkflowDef[R]: ...
@overload
def workflow(
    *,
    name: str | None = None,
    version: int = 1,
    workflow_id: IdSource | None = None,
    schedule: Schedule | Sequence[Schedule] | None = None,
    queue: Queue | None = None,
) -> Callable[[Callable[..., R]], WorkflowDef[R]]: ...
def workflow(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    version: int = 1,
    workflow_id: IdSource | None = None,
    schedule: Schedule | Sequence[Schedule] | None = None,
    queue: Queue | None = None,
) -> Any:
    """Declare a workflow. ``name`` is what runs are stored under (default: the function name);
    ``workflow_id`` names a run started without an explicit id from its input, e.g.
    ``"order-{order.order_id}"`` (see :mod:`wfkit.engine.run_ids`); ``schedule`` starts runs
    by themselves, on workers: one or several ``Cron``, ``Every`` or ``At``
    (:mod:`wfkit.engine.schedules`); ``queue`` is the :class:`~wfkit.engine.queues.Queue`
    its runs start on (and declares it to every engine that registers the workflow, so
    ``wfkit worker`` knows it)."""

    def wrap(f: Callable[..., Any]) -> WorkflowDef[Any]:
        return WorkflowDef(
            f,
            name=name,
            version=version,
            workflow_id=workflow_id,
            schedule=schedule,
            queue=queue,
        )

    return wrap(fn) if fn is not None else wrap


def _named_schedules(
    workflow_name: str, schedule: Schedule | Sequence[Schedule] | None
) -> tuple[tuple[str, Schedule], ...]:
    """Each schedule with its name: its own ``name=``, or the workflow's for a lone one (its
    runs are then ``<workflow>@<tick>``). Names must differ: a name keys the stored state."""
    if schedule is None:
        return ()
    specs = [schedule] if isinstance(schedule, (Cron, Every, At)) else list(schedule)
    named: list[tuple[str, Schedule]] = []
    for spec in specs:
        if not isinstance(spec, (Cron, Every, At)):
            raise DefinitionError(
                f"@workflow {workflow_name!r}: schedule= takes Cron, Every or At, "
                f"got {type(spec).__name__}",
                hint='e.g. schedule=Cron("0 9 * * MON-FRI", tz="Europe/Berlin")',
            )
        if spec.name is None and len(specs) > 1:
            raise DefinitionError(
                f"@workflow {workflow_name!r} has {len(specs)} schedules: name each one",
                hint='e.g. Cron("0 9 * * *", name="morning"), Every(hours=1, name="hourly")',
            )
        named.append((spec.name or workflow_name, spec))
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        raise DefinitionError(
            f"@workflow {workflow_name!r}: two schedules are named "
            f"{next(n for n in names if names.count(n) > 1)!r}",
            hint="give each schedule its own name=",
        )
    for name, _ in named:
        check_id(name, "schedule name")
    return tuple(named)


def check_compensation(fn: Callable[..., Any], step_name: str, positional: int | None) -> None:
    """A compensation is called with the step's positional arguments plus its result."""
    if not callable(fn):
        raise DefinitionError(f"compensation for step {step_name!r} must be callable")
    if positional is None:
        return
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust the caller
        return
    dummy = [None] * (positional + 1)
    try:
        sig.bind(*dummy)
    except TypeError:
        raise DefinitionError(
            f"compensation {_qualname(fn)} for step {step_name!r} cannot take the step's "
            f"{positional} argument(s) plus its result",
            hint=f"define it as def {getattr(fn, '__name__', 'undo')}(<step args>, result)",
        ) from None


def _check_context_parameter(fn: Callable[..., Any], name: str) -> None:
    """The first parameter must be the context: named ``ctx`` or annotated ``Context``.

    The same rule decides which parameters the input binds to (``wfkit.engine.binding``), so a
    workflow ``def g(order)`` would otherwise pass ``order`` the context and fail at run time,
    stored as a compensated run with a ``TypeError``, instead of here, at import.
    """
    params = list(inspect.signature(fn).parameters.values())
    first = params[0] if params else None
    if (
        first is not None
        and first.kind
        in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and is_context_parameter(first)
    ):
        return
    rest = ", ".join(str(p) for p in params if not is_context_parameter(p))
    if first is None:
        found = "it takes no parameters"
    elif is_context_parameter(first):
        found = f"its parameter {first.name!r} is not positional"
    else:
        found = f"its first parameter is {first.name!r}"
    raise DefinitionError(
        f"@workflow {name!r} must take the workflow context as its first parameter "
        f"(named ctx or annotated Context); {found}",
        hint=f"def {fn.__name__}(ctx: Context{', ' + rest if rest else ''})",
    )


def _check_name(name: str | None, fn: Callable[..., Any], decorator: str) -> str:
    if name is None:
        name = getattr(fn, "__name__", None)
        if not name or name == "<lambda>":
            raise DefinitionError(
                f"{decorator} on a lambda needs name=", hint=f"{decorator}(name='my-name')"
            )
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError(f"{decorator} name must be a non-empty string, got {name!r}")
    try:
        check_id(name, f"{decorator} name")  # shown in `wfkit list` and `show`, one per line
    except InvalidId as bad:
        raise DefinitionError(bad.message, hint=bad.hint) from None
    return name


def _check_timeout(timeout: float | None, name: str) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise DefinitionError(
            f"@step {name!r}: timeout must be a positive number of seconds, got {timeout!r}",
            hint="timeout=30",
        )
    return float(timeout)


def _qualname(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
