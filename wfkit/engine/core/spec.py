"""What one durable step call means: the function, its name and options, merged once.

``ctx.step(fn, ..., name=, retry=, ...)`` accepts a ``@step`` definition or any callable, and
call-site options override the definition's. The merged :class:`StepSpec` is cached per
definition when the call site adds nothing, so the hot path does no option juggling.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from wfkit.engine.binding import positional_count, return_annotation
from wfkit.engine.definitions import StepDef, WorkflowDef, check_compensation
from wfkit.engine.retry import DEFAULT_STEP_RETRY, Retry
from wfkit.errors import DefinitionError


@dataclass(frozen=True)
class StepSpec:
    name: str
    fn: Callable[..., Any]
    is_async: bool
    retry: Retry
    timeout: float | None
    compensate: Callable[..., Any] | None
    optional: bool
    idempotent: bool
    at_most_once: bool
    returns: Any  # the return annotation the result is decoded to


@dataclass(frozen=True)
class CallSite:
    """Options given at the call site (None: keep the definition's)."""

    name: str | None = None
    retry: Retry | None = None
    timeout: float | None = None
    compensate: Callable[..., Any] | None = None
    optional: bool | None = None
    idempotent: bool | None = None
    at_most_once: bool | None = None

    @property
    def empty(self) -> bool:
        return self == _NO_OPTIONS


_NO_OPTIONS = CallSite()


def base_spec(target: Callable[..., Any]) -> StepSpec:
    """The spec of a step target with no call-site options (cached on StepDef instances)."""
    cached = getattr(target, "_wfkit_spec", None) if isinstance(target, StepDef) else None
    if cached is not None:
        return cached
    if isinstance(target, WorkflowDef):
        raise DefinitionError(
            f"{target.name!r} is a workflow, not a step",
            hint="start it as a child workflow with ctx.child(...)",
        )
    if isinstance(target, StepDef):
        fn = target.fn
        spec = StepSpec(
            name=target.name,
            fn=fn,
            is_async=target.is_async,
            retry=target.retry or DEFAULT_STEP_RETRY,
            timeout=target.timeout,
            compensate=target.compensate,
            optional=False,
            idempotent=target.idempotent,
            at_most_once=target.at_most_once,
            returns=return_annotation(fn),
        )
        # A later @fn.compensation must show up: cache only once a compensation is known or
        # the definition is complete (compensation is registered at import, before any run).
        target._wfkit_spec = spec  # type: ignore[attr-defined]
        return spec
    if not callable(target):
        raise DefinitionError(f"ctx.step needs a callable, got {type(target).__name__}")
    name = getattr(target, "__name__", None)
    if not name or name == "<lambda>":
        raise DefinitionError(
            "ctx.step on a lambda needs name=", hint="ctx.step(lambda: ..., name='my-step')"
        )
    return StepSpec(
        name=name,
        fn=target,
        is_async=inspect.iscoroutinefunction(target),
        retry=DEFAULT_STEP_RETRY,
        timeout=None,
        compensate=None,
        optional=False,
        idempotent=False,
        at_most_once=False,
        returns=return_annotation(target),
    )


def resolve(target: Callable[..., Any], site: CallSite) -> StepSpec:
    if site.empty:
        return base_spec(target)
    if site.name is None and not callable(target):
        raise DefinitionError(f"ctx.step needs a callable, got {type(target).__name__}")
    base = (
        base_spec(target)
        if site.name is None or isinstance(target, StepDef)
        else _named(target, site.name)
    )
    changes: dict[str, Any] = {}
    for field in (
        "name",
        "retry",
        "timeout",
        "compensate",
        "optional",
        "idempotent",
        "at_most_once",
    ):
        value = getattr(site, field)
        if value is not None:
            changes[field] = value
    if "retry" in changes and not isinstance(changes["retry"], Retry):
        raise DefinitionError(
            f"step {base.name!r}: retry must be a wfkit.Retry", hint="retry=Retry(attempts=3)"
        )
    if "timeout" in changes and (
        isinstance(site.timeout, bool)
        or not isinstance(site.timeout, (int, float))
        or site.timeout <= 0
    ):
        raise DefinitionError(
            f"step {base.name!r}: timeout must be a positive number "
            f"of seconds, got {site.timeout!r}"
        )
    if "compensate" in changes:
        check_compensation(
            changes["compensate"],
            str(changes.get("name", base.name)),
            positional_count(base.fn),
        )
    return replace(base, **changes)


def _named(target: Callable[..., Any], name: str) -> StepSpec:
    if isinstance(target, WorkflowDef):
        raise DefinitionError(
            f"{target.name!r} is a workflow, not a step",
            hint="start it as a child workflow with ctx.child(...)",
        )
    return StepSpec(
        name=name,
        fn=target,
        is_async=inspect.iscoroutinefunction(target),
        retry=DEFAULT_STEP_RETRY,
        timeout=None,
        compensate=None,
        optional=False,
        idempotent=False,
        at_most_once=False,
        returns=return_annotation(target),
    )
