"""``@workflow`` checks its definition when applied: a mistake fails at import, not at run time."""

from __future__ import annotations

from typing import Any

import pytest

import wfkit
from wfkit import Context, workflow
from wfkit.errors import DefinitionError


def _no_context(x: int) -> int:
    return x


def _unannotated_other_name(order, amount):  # type: ignore[no-untyped-def]
    return amount


def _no_parameters() -> None:
    return None


def _keyword_only_context(*, ctx: Context) -> None:
    return None


@pytest.mark.parametrize(
    "fn, found",
    [
        (_no_context, "its first parameter is 'x'"),
        (_unannotated_other_name, "its first parameter is 'order'"),
        (_no_parameters, "it takes no parameters"),
        (_keyword_only_context, "its parameter 'ctx' is not positional"),
    ],
)
def test_a_workflow_without_a_context_parameter_is_refused_when_decorated(
    fn: Any, found: str
) -> None:
    with pytest.raises(DefinitionError) as err:
        workflow(fn)
    assert "must take the workflow context as its first parameter" in err.value.message
    assert found in err.value.message
    assert err.value.hint is not None and err.value.hint.startswith(
        f"def {fn.__name__}(ctx: Context"
    )


def test_the_hint_keeps_the_other_parameters() -> None:
    with pytest.raises(DefinitionError) as err:
        workflow(_unannotated_other_name)
    assert err.value.hint == "def _unannotated_other_name(ctx: Context, order, amount)"


def _named_ctx(ctx, a: int) -> int:  # type: ignore[no-untyped-def]
    return a


def _annotated(c: Context, a: int) -> int:
    return a


def _string_annotation(context: wfkit.Context) -> None:  # a string: future annotations
    return None


@pytest.mark.parametrize("fn", [_named_ctx, _annotated, _string_annotation])
def test_a_context_named_ctx_or_annotated_context_is_accepted(fn: Any) -> None:
    assert workflow(fn).fn is fn
