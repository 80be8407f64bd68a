"""One rule for returned values: a value must come back as itself (same type, equal value; an
int where a float is annotated is the one widening). A datetime from a ``-> str`` step is
refused like an int from it, bytes from an unannotated step too — the step fails (not retried,
nothing checkpointed as completed) instead of the workflow silently getting a string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.status import OpStatus
from wfkit.errors import RunFailed

MOMENT = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@dataclass
class Box:
    label: str
    when: str


class Label(str):
    pass


def step_of(fn: Callable[[], Any]) -> Any:
    return step(retry=Retry(attempts=3))(fn)


def a_datetime_as_str() -> str:
    return MOMENT  # type: ignore[return-value]


def an_int_as_str() -> str:
    return 5  # type: ignore[return-value]


def untyped_bytes():  # noqa: ANN201
    return b"\x00\x01"


def a_tuple_as_any() -> Any:
    return (1, "a")


def a_datetime_in_a_field() -> Box:
    return Box("x", MOMENT)  # type: ignore[arg-type]


def int_keys_untyped() -> dict:
    return {1: "a"}


def a_str_subclass_as_any() -> Any:
    return Label("x")


REFUSED = [
    (
        a_datetime_as_str,
        "RoundTripError",
        "is datetime, but the annotation str gives it back as str",
    ),
    (an_int_as_str, "DecodingError", "expected str, found number 5"),
    (untyped_bytes, "RoundTripError", "is bytes, but the annotation Any gives it back as str"),
    (a_tuple_as_any, "RoundTripError", "is tuple, but the annotation Any gives it back as list"),
    (a_datetime_in_a_field, "RoundTripError", "at .when is datetime"),
    (int_keys_untyped, "RoundTripError", "is dict"),
    (a_str_subclass_as_any, "RoundTripError", "is Label"),
]


def run_one(make_engine: Callable[..., Any], fn: Callable[[], Any], name: str) -> Any:
    target = step_of(fn)

    @workflow(name=name)
    def flow(ctx: Context) -> object:
        return ctx.step(target)

    engine = make_engine()
    engine.start(flow, workflow_id=name)
    return engine, flow


@pytest.mark.parametrize(
    ("fn", "error_type", "text"), REFUSED, ids=[fn.__name__ for fn, _, _ in REFUSED]
)
def test_a_value_that_would_come_back_as_something_else_fails_its_step(
    make_engine, fn, error_type, text
) -> None:
    engine, _ = run_one(make_engine, fn, f"types-{fn.__name__}")
    with pytest.raises(RunFailed) as failed:
        engine.result(f"types-{fn.__name__}")
    error = failed.value.error or {}
    assert error.get("type") == error_type and text in error.get("message", ""), error
    [op] = engine.operations(f"types-{fn.__name__}")
    assert (op.status, op.attempt, op.result) == (OpStatus.FAILED, 1, None)  # never retried


def test_the_hint_names_the_fix(make_engine) -> None:
    from wfkit.engine.codec import JsonCodec
    from wfkit.engine.codec_checks import RoundTripError

    codec = JsonCodec()
    with pytest.raises(RoundTripError) as untyped:
        codec.settle(b"x", codec.encode(b"x", where="w"), Any, where="result of step 's'")
    assert untyped.value.hint == "annotate the type it returns (-> bytes)"
    with pytest.raises(RoundTripError) as typed:
        codec.settle(MOMENT, codec.encode(MOMENT, where="w"), str, where="result of step 's'")
    assert typed.value.hint == "return str, or annotate the type it returns"


def typed_bytes() -> bytes:
    return b"\x00\x01"


def int_as_float() -> float:
    return 3  # type: ignore[return-value]


def a_box() -> Box:
    return Box("x", "2026-03-01")


def a_datetime() -> datetime:
    return MOMENT


ACCEPTED = [
    (typed_bytes, b"\x00\x01"),
    (int_as_float, 3.0),
    (a_box, Box("x", "2026-03-01")),
    (a_datetime, MOMENT),
]


@pytest.mark.parametrize(("fn", "expected"), ACCEPTED, ids=[fn.__name__ for fn, _ in ACCEPTED])
def test_a_value_that_comes_back_as_itself_is_accepted(make_engine, fn, expected) -> None:
    seen: list[Any] = []
    target = step_of(fn)

    @workflow(name=f"ok-{fn.__name__}")
    def flow(ctx: Context) -> int:
        seen.append(ctx.step(target))
        return 1

    engine = make_engine()
    assert engine.start(flow, workflow_id="ok").result() == 1
    assert seen == [expected] and type(seen[0]) is type(expected)


def test_a_workflow_result_follows_the_same_rule(make_engine) -> None:
    @workflow(name="types-workflow-result")
    def stamped(ctx: Context) -> str:
        return MOMENT  # type: ignore[return-value]

    engine = make_engine()
    engine.start(stamped, workflow_id="w")
    with pytest.raises(RunFailed) as failed:
        engine.result("w")
    assert (failed.value.error or {}).get("type") == "RoundTripError"
