"""Binding JSON input to a function's parameters (workflow inputs, ``wfkit run --input``).

The codec turns one JSON value into one annotated type; this module maps a whole input
document onto a function's signature (positional, keyword, variadic; the workflow context
skipped) and explains a mismatch in terms of the parameters, so a user can fix the input.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from wfkit.engine.codec import JsonCodec, annotation_name
from wfkit.engine.codec_forms import _describe
from wfkit.errors import DefinitionError, UsageError

_STARS: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


class ArgumentError(UsageError):
    """Input that does not fit a function's parameters (missing, unknown or extra arguments)."""

    def __init__(self, message: str, *, where: str, parameter: str | None, hint: str) -> None:
        super().__init__(f"{where}: {message}", hint=hint)
        self.where = where
        self.parameter = parameter


# --------------------------------------------------------------------------- function inputs

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def is_context_parameter(parameter: inspect.Parameter) -> bool:
    """Whether ``parameter`` is the workflow context: named ``ctx`` or annotated ``Context``
    (a class or string of that name, from any module, so this module needs no engine import)."""
    if parameter.name == "ctx":
        return True
    annotation = parameter.annotation
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1] == "Context"
    return getattr(annotation, "__name__", None) == "Context"


def signature_types(fn: Callable[..., Any]) -> tuple[dict[str, Any], Any]:
    """Resolved annotations of ``fn``: ``({parameter: annotation}, return_annotation)``.

    Every parameter is listed in order (the context too); a missing annotation is ``Any``;
    string annotations (``from __future__ import annotations``) are resolved in the function's
    module. A name that cannot be resolved raises :class:`DefinitionError`, except on the
    context parameter, whose ``Context`` is often imported only under ``TYPE_CHECKING``.
    The result is shared between callers (resolving costs ~20 µs, and every activation of a
    run needs it): treat it as read-only.
    """
    try:
        return _signature_types(fn)
    except TypeError:  # an unhashable callable: resolve it each time
        return _signature_types.__wrapped__(fn)


def return_annotation(fn: Callable[..., Any]) -> Any:
    """The annotation ``fn``'s result decodes to: its return annotation, or ``Any`` for a
    builtin or an annotation that cannot be resolved (the result is then decoded as JSON)."""
    try:
        return signature_types(fn)[1]
    except Exception:  # a builtin or an annotation that cannot be resolved: decode as JSON
        return Any


def positional_count(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` requires; None if it takes ``*args`` or has no
    signature (a compensation is then not checked against it)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    return sum(
        1
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and p.default is inspect.Parameter.empty
    )


@functools.lru_cache(maxsize=1024)
def _signature_types(fn: Callable[..., Any]) -> tuple[dict[str, Any], Any]:
    target = inspect.unwrap(fn)
    signature = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # one unresolvable name: resolve one by one to blame the right one
        hints = _hints_one_by_one(target, signature)
    parameters = {name: hints.get(name, Any) for name in signature.parameters}
    return parameters, hints.get("return", Any)


def _hints_one_by_one(target: Any, signature: inspect.Signature) -> dict[str, Any]:
    globalns = getattr(target, "__globals__", {})
    owner = getattr(target, "__qualname__", repr(target))
    entries = [
        (p.name, p.annotation, i == 0 and is_context_parameter(p))
        for i, p in enumerate(signature.parameters.values())
    ]
    entries.append(("return", signature.return_annotation, False))
    hints: dict[str, Any] = {}
    for name, annotation, is_context in entries:
        if annotation is inspect.Parameter.empty:
            continue
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            hints[name] = typing.get_type_hints(holder, globalns=globalns)[name]
        except Exception as error:
            if is_context:
                hints[name] = annotation
                continue
            subject = "the return annotation" if name == "return" else f"parameter {name!r}"
            raise DefinitionError(
                f"cannot resolve the annotation {annotation!r} of {subject} of {owner}: {error}",
                hint="import the type at module level (not only under TYPE_CHECKING) and "
                "define it outside functions",
            ) from None
    return hints


def _usage(
    fn: Callable[..., Any],
    parameters: Sequence[inspect.Parameter],
    annotations: dict[str, Any],
) -> str:
    shown = []
    for p in parameters:
        prefix = _STARS.get(p.kind, "")
        text = f"{prefix}{p.name}: {annotation_name(annotations.get(p.name, Any))}"
        shown.append(text if p.default is inspect.Parameter.empty else f"{text} = {p.default!r}")
    name = getattr(fn, "__qualname__", repr(fn))
    return (
        f"{name} takes ({', '.join(shown)}); pass an object keyed by parameter name, or "
        '{"args": [...], "kwargs": {...}}'
    )


def _input_parameters(fn: Callable[..., Any], skip_context: bool) -> tuple[inspect.Parameter, ...]:
    """The parameters a caller's input binds to; a workflow's are resolved once (every run
    decodes its input when it starts and again in each activation)."""
    try:
        return _cached_input_parameters(fn, skip_context)
    except TypeError:  # an unhashable callable: resolve it each time
        return _cached_input_parameters.__wrapped__(fn, skip_context)


@functools.lru_cache(maxsize=1024)
def _cached_input_parameters(
    fn: Callable[..., Any], skip_context: bool
) -> tuple[inspect.Parameter, ...]:
    parameters = tuple(inspect.signature(inspect.unwrap(fn)).parameters.values())
    if skip_context and parameters and is_context_parameter(parameters[0]):
        parameters = parameters[1:]
    return parameters


def bind_arguments(
    fn: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    where: str,
    *,
    codec: JsonCodec | None = None,
    skip_context: bool = True,
) -> tuple[list[Any], dict[str, Any]]:
    """Decode JSON ``args`` / ``kwargs`` against ``fn``'s annotations, for ``fn(ctx, *a, **k)``.

    The first parameter is skipped when it is the workflow context (see
    :func:`is_context_parameter`). Defaults are left to Python. An argument that does not fit
    raises :class:`ArgumentError` (missing, unknown, twice, too many) or :class:`DecodingError`
    (wrong type; its path starts with the parameter name); both are :class:`UsageError`.
    """
    codec = codec if codec is not None else JsonCodec()
    annotations, _ = signature_types(fn)
    parameters = _input_parameters(fn, skip_context)
    positional = [p for p in parameters if p.kind in _POSITIONAL]
    var_positional = next(
        (p for p in parameters if p.kind is inspect.Parameter.VAR_POSITIONAL), None
    )
    var_keyword = next((p for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    by_name = {
        p.name: p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }

    def fail(message: str, parameter: str | None) -> ArgumentError:
        return ArgumentError(
            message, where=where, parameter=parameter, hint=_usage(fn, parameters, annotations)
        )

    bound_args = []
    for index, item in enumerate(args):
        if index < len(positional):
            name, root = positional[index].name, positional[index].name
        elif var_positional is not None:
            name = var_positional.name
            root = f"{name}[{index - len(positional)}]"
        else:
            raise fail(
                f"too many positional arguments: {len(args)} given, at most "
                f"{len(positional)} accepted",
                None,
            )
        bound_args.append(codec.from_jsonable(item, annotations.get(name, Any), where, root=root))
    given = {p.name for p in positional[: len(args)]}
    bound_kwargs = {}
    for name, item in kwargs.items():
        if name in given:
            raise fail(f"argument {name!r} given twice (by position and by name)", name)
        parameter = by_name.get(name)
        if parameter is None and var_keyword is None:
            why = (
                "is positional-only"
                if any(p.name == name for p in positional)
                else "is not a parameter"
            )
            raise fail(f"unknown argument {name!r}: it {why}", name)
        owner = parameter or var_keyword
        assert owner is not None
        bound_kwargs[name] = codec.from_jsonable(
            item, annotations.get(owner.name, Any), where, root=name
        )
    for p in parameters:
        if (
            p.default is inspect.Parameter.empty
            and p.kind not in _VARIADIC
            and p.name not in given
            and p.name not in kwargs
        ):
            raise fail(f"missing argument {p.name!r}", p.name)
    return bound_args, bound_kwargs


def arguments_from_json(
    fn: Callable[..., Any],
    data: Any,
    where: str,
    *,
    codec: JsonCodec | None = None,
    skip_context: bool = True,
) -> tuple[list[Any], dict[str, Any]]:
    """Decode one JSON input (``wfkit run --input``, ``Engine.start``) into ``fn``'s arguments.

    The input's shape decides how it maps, first rule that applies:

    1. ``{"args": [...], "kwargs": {...}}`` (either key optional, no other key): explicit, and
       the way to say anything the rules below would read differently.
    2. ``null`` when no parameter is required: no arguments (defaults apply).
    3. A function with exactly one parameter (besides the context): the whole value is that
       argument, unless it is an object whose only key is the parameter's name.
    4. An object: keyword arguments by parameter name.
    5. An array: positional arguments.
    """
    parameters = _input_parameters(fn, skip_context)
    if (
        isinstance(data, dict)
        and data
        and set(data) <= {"args", "kwargs"}
        and isinstance(data.get("args", []), list)
        and isinstance(data.get("kwargs", {}), dict)
    ):
        return bind_arguments(
            fn,
            data.get("args", []),
            data.get("kwargs", {}),
            where,
            codec=codec,
            skip_context=skip_context,
        )
    required = [
        p for p in parameters if p.default is inspect.Parameter.empty and p.kind not in _VARIADIC
    ]
    if data is None and not required:
        return bind_arguments(fn, [], {}, where, codec=codec, skip_context=skip_context)
    if len(parameters) == 1 and parameters[0].kind not in _VARIADIC:
        only = parameters[0]
        if not (isinstance(data, dict) and set(data) == {only.name}):
            if only.kind is inspect.Parameter.KEYWORD_ONLY:
                return bind_arguments(
                    fn, [], {only.name: data}, where, codec=codec, skip_context=skip_context
                )
            return bind_arguments(fn, [data], {}, where, codec=codec, skip_context=skip_context)
    if isinstance(data, dict):
        return bind_arguments(fn, [], data, where, codec=codec, skip_context=skip_context)
    if isinstance(data, list):
        return bind_arguments(fn, data, {}, where, codec=codec, skip_context=skip_context)
    annotations, _ = signature_types(fn)
    raise ArgumentError(
        f"cannot use {_describe(data)} as the input: it takes {len(parameters)} parameters",
        where=where,
        parameter=None,
        hint=_usage(fn, parameters, annotations),
    )
