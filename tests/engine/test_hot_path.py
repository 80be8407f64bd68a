"""The step hot path's shortcuts change nothing a workflow can observe.

A fresh step result skips the encode/decode round trip only where the codec proves it is the
identity (``JsonCodec.replays_as_is``); the first execution must still see exactly what a
replay decodes from the record, type included.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any

import pytest

from wfkit import Context, step, workflow
from wfkit.engine.codec import JsonCodec
from wfkit.engine.core.runner import execute
from wfkit.engine.status import RunStatus


class Colour(str, enum.Enum):
    RED = "red"


class Label(str):
    pass


@step
def an_int() -> int:
    return 7


@step
def a_str() -> str:
    return "h\u00e9llo \ud800"


@step
def a_bool() -> bool:
    return True


@step
def nothing() -> None:
    return None


@step
def untyped():  # noqa: ANN201 - decoded as plain JSON
    return 12


@step
def any_int() -> Any:
    return -5


@step
def float_from_int() -> float:
    return 3  # a float annotation takes an int: the workflow must see 3.0 both times


@step
def negative_zero() -> float:
    return -0.0


@step
def enum_value() -> Colour:
    return Colour.RED


@step
def big_int() -> int:
    return 2**70


seen: list[list[tuple[str, str]]] = []


@workflow
def observer(ctx: Context) -> int:
    values = [
        ctx.step(fn)
        for fn in (
            an_int,
            a_str,
            a_bool,
            nothing,
            untyped,
            any_int,
            float_from_int,
            negative_zero,
            enum_value,
            big_int,
        )
    ]
    seen.append([(type(v).__name__, repr(v)) for v in values])
    return len(values)


def test_a_fresh_result_is_exactly_what_replay_decodes(engine):
    seen.clear()
    assert engine.start(observer, workflow_id="o").result(timeout=5) == 10
    act = execute(
        engine.rt,
        engine.get_run("o"),
        observer,
        lease_owner=None,
        operations=engine.operations("o"),
    )
    assert act.outcome is None or act.outcome == RunStatus.COMPLETED
    first, replayed = seen
    assert first == replayed
    assert first[6] == ("float", "3.0")
    # A tuple or a str subclass under Any would come back as something else: refused
    # (wfkit.engine.codec_checks; tests/engine/test_result_types.py).


@pytest.mark.parametrize(
    ("value", "annotation", "as_is"),
    [
        (1, int, True),
        (1, Any, True),
        ("s", str, True),
        ("s", object, True),
        (True, bool, True),
        (None, None, True),
        (None, type(None), True),
        (None, Any, True),
        (1, inspect.Parameter.empty, True),
        (True, int, False),
        (1, float, False),
        (1, bool, False),
        (1.0, float, False),
        (1.0, Any, False),
        ([1], Any, False),
        ((1,), Any, False),
        (Label("x"), Any, False),
        (Colour.RED, Any, False),
        (1, int | None, False),
        ("s", int, False),
    ],
)
def test_replays_as_is_only_for_exact_json_scalars(value, annotation, as_is):
    assert JsonCodec().replays_as_is(value, annotation) is as_is


def test_a_codec_subclass_that_decodes_differently_takes_the_round_trip():
    class Shouting(JsonCodec):
        def decode(self, text, annotation=Any, *, where):  # noqa: ANN001, ANN201
            value = super().decode(text, annotation, where=where)
            return value.upper() if isinstance(value, str) else value

    assert not Shouting().replays_as_is("s", str)


@pytest.mark.parametrize("value", [0, -1, 2**70, "", 'a"b\\c\n\u00e9\ud800', True, False, None])
def test_encode_shortcuts_match_the_json_encoder(value):
    codec = JsonCodec()
    assert codec.encode(value, where="x") == codec._plain.encode(value)
