"""The JSON codec: every supported type round-trips to its annotation, errors say where and what,
and the same value always gives the same text."""

from __future__ import annotations

import enum
import json
import socket
import typing
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Generic,
    Literal,
    NamedTuple,
    NewType,
    Optional,
    TypedDict,
    TypeVar,
    Union,
)
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfkit.engine.binding import ArgumentError, arguments_from_json, bind_arguments, signature_types
from wfkit.engine.codec import DecodingError, EncodingError, JsonCodec
from wfkit.errors import DefinitionError, SerializationError, UsageError

if TYPE_CHECKING:
    from wfkit.engine.context import Context  # never imported at run time: the codec must cope

WHERE = "result of step 'charge_payment'"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shape(enum.Enum):
    POINT = (0, 0)
    UNIT = (1, 1)


@dataclass
class Item:
    sku: str
    price: Decimal
    quantity: int = 1


@dataclass
class Order:
    id: uuid.UUID
    items: list[Item]
    email: str | None = None
    tags: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass
class Node:
    value: int
    children: list[Node] = field(default_factory=list)


T = TypeVar("T")


@dataclass
class Box(Generic[T]):
    content: T
    history: list[T]


@dataclass
class Positive:
    n: int

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError("n must be positive")


@dataclass
class WithComputed:
    a: int
    double: int = field(init=False)

    def __post_init__(self) -> None:
        self.double = self.a * 2


@dataclass
class Cat:
    kind: Literal["cat"]
    name: str


@dataclass
class Dog:
    kind: Literal["dog"]
    name: str


class Pair(NamedTuple):
    left: int
    right: str = "r"


class Movie(TypedDict, total=False):
    title: str
    year: int


class Film(TypedDict):
    title: str


UserId = NewType("UserId", int)


class Unserializable:
    pass


@dataclass
class Broken:
    name: str
    ghost: Ghost  # noqa: F821 - deliberately undefined


@pytest.fixture
def codec() -> JsonCodec:
    return JsonCodec()


def round_trip(codec: JsonCodec, value: Any, annotation: Any) -> Any:
    return codec.decode(codec.encode(value, where=WHERE), annotation, where=WHERE)


PARIS = ZoneInfo("Europe/Paris")

ROUND_TRIPS = [
    (None, None),
    (True, bool),
    (-12, int),
    (10**30, int),
    (1.5, float),
    (-0.0, float),
    ("héllo \ud800 \x00", str),
    ([1, 2, 3], list[int]),
    ({"b": 1, "a": 2}, dict[str, int]),
    ({3: "c", 1: "a"}, dict[int, str]),
    ({Color.BLUE: 1, Color.RED: 2}, dict[Color, int]),
    ({Level.HIGH: "h"}, dict[Level, str]),
    ({uuid.UUID(int=7): 1}, dict[uuid.UUID, int]),
    ({date(2026, 1, 2): 1}, dict[date, int]),
    ({(1, "a"): True}, dict[tuple[int, str], bool]),
    ({True: 1, False: 0}, dict[bool, int]),
    ({Decimal("1.10"): "x"}, dict[Decimal, str]),
    (OrderedDict(b=1, a=2), OrderedDict[str, int]),
    (Point(1, 2), Point),
    (Order(uuid.UUID(int=1), [Item("a", Decimal("9.99"), 2)], None, {"x", "y"}), Order),
    (Node(1, [Node(2), Node(3, [Node(4)])]), Node),
    (Box(Point(1, 2), [Point(0, 0)]), Box[Point]),
    (WithComputed(3), WithComputed),
    (Color.RED, Color),
    (Level.HIGH, Level),
    (Shape.UNIT, Shape),
    (datetime(2026, 1, 2, 3, 4, 5, 6), datetime),
    (datetime(2026, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=-5, minutes=-30))), datetime),
    (datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), datetime),
    (datetime(2026, 7, 1, 12, 0, tzinfo=PARIS), datetime),
    (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS), datetime),  # the repeated hour
    (datetime(2026, 3, 29, 2, 30, tzinfo=PARIS), datetime),  # a wall time that never happened
    (date(2026, 2, 28), date),
    (time(23, 59, 59, 999), time),
    (time(8, 0, tzinfo=timezone(timedelta(hours=2))), time),
    (timedelta(0), timedelta),
    (timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7), timedelta),
    (-timedelta(seconds=1.5), timedelta),
    (timedelta.max, timedelta),
    (timedelta.min, timedelta),
    (uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.UUID),
    (Decimal("1.10"), Decimal),
    (Decimal("-1E+10"), Decimal),
    (b"\x00\xffbytes", bytes),
    (bytearray(b"abc"), bytearray),
    ((1, "a"), tuple[int, str]),
    ((1, 2, 3), tuple[int, ...]),
    ((), tuple[()]),
    ({3, 1, 2}, set[int]),
    (frozenset({"b", "a"}), frozenset[str]),
    ({(1, 2), (0, 5)}, set[tuple[int, int]]),
    ({Color.RED}, set[Color]),
    ([Color.RED, None], list[Color | None]),
    (None, Optional[int]),
    (5, int | None),
    (1, float | int),
    (1.0, float | int),
    (1, int | float),
    ("x", Union[int, str]),
    (Dog("dog", "rex"), Cat | Dog),
    ("b", Literal["a", "b"]),
    (Color.BLUE, Literal[Color.BLUE]),
    (Pair(1, "x"), Pair),
    ({"title": "Alien"}, Movie),
    (7, UserId),
    (3, Annotated[int, "meta"]),
    ({"any": [1, {"x": None}]}, Any),
]


@pytest.mark.parametrize(
    ("value", "annotation"),
    ROUND_TRIPS,
    ids=[f"{i}-{type(v).__name__}" for i, (v, _) in enumerate(ROUND_TRIPS)],
)
def test_every_supported_type_round_trips_to_its_annotation(codec, value, annotation):
    decoded = round_trip(codec, value, annotation)
    assert decoded == value
    assert type(decoded) is type(value)


def test_aware_datetimes_keep_their_zone_and_naive_ones_stay_naive(codec):
    zoned = round_trip(codec, datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS), datetime)
    assert zoned.tzinfo is PARIS and zoned.fold == 1 and zoned.utcoffset() == timedelta(hours=1)
    offset = round_trip(codec, datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=3))), datetime)
    assert offset.utcoffset() == timedelta(hours=3)
    assert round_trip(codec, datetime(2026, 1, 1), datetime).tzinfo is None


def test_hand_written_inputs_are_accepted_where_unambiguous(codec):
    assert codec.decode('"2026-01-01T00:00:00Z"', datetime, where=WHERE) == datetime(
        2026, 1, 1, tzinfo=timezone.utc
    )
    assert codec.decode("1", float, where=WHERE) == 1.0
    assert codec.decode("9.99", Decimal, where=WHERE) == Decimal("9.99")
    assert codec.decode("90", timedelta, where=WHERE) == timedelta(seconds=90)
    assert codec.decode('{"left": 2}', Pair, where=WHERE) == Pair(2, "r")
    assert codec.decode('["a"]', tuple, where=WHERE) == ("a",)
    assert codec.decode('["a", 1]', typing.Tuple, where=WHERE) == ("a", 1)  # noqa: UP006


def test_typed_values_come_back_as_their_json_form_without_an_annotation(codec):
    value = {
        "order": Order(uuid.UUID(int=1), [Item("a", Decimal("2.50"))], tags={"b", "a"}),
        "at": datetime(2026, 1, 1, 9, 30),
        "color": Color.RED,
        "span": timedelta(hours=2),
    }
    assert codec.decode(codec.encode(value, where=WHERE), where=WHERE) == {
        "order": {
            "id": "00000000-0000-0000-0000-000000000001",
            "items": [{"sku": "a", "price": "2.50", "quantity": 1}],
            "email": None,
            "tags": ["a", "b"],
        },
        "at": "2026-01-01T09:30:00",
        "color": "red",
        "span": "PT2H",
    }


def test_dict_key_order_round_trips_exactly(codec):
    value = {"zeta": 1, "alpha": 2, "mid": {"z": 1, "a": 2}}
    text = codec.encode(value, where=WHERE)
    assert text == '{"zeta":1,"alpha":2,"mid":{"z":1,"a":2}}'
    decoded = codec.decode(text, dict[str, dict[str, int] | int], where=WHERE)
    assert list(decoded) == ["zeta", "alpha", "mid"] and list(decoded["mid"]) == ["z", "a"]
    assert list(round_trip(codec, {9: "a", 2: "b", 5: "c"}, dict[int, str])) == [9, 2, 5]


def test_encoding_is_deterministic_and_sets_are_sorted(codec):
    value = {
        "s": {"b", "c", "a"},
        "n": frozenset({10, 2, 33}),
        "mixed": {1, "1", None},
        "colors": {Color.RED, Color.BLUE},
    }
    first = codec.encode(value, where=WHERE)
    assert first == codec.encode(value, where=WHERE)
    rebuilt = {
        "s": set(reversed(["a", "b", "c"])),
        "n": frozenset([33, 2, 10]),
        "mixed": {None, "1", 1},
        "colors": {Color.BLUE, Color.RED},
    }
    assert codec.encode(rebuilt, where=WHERE) == first
    assert first == (
        '{"s":["a","b","c"],"n":[2,10,33],"mixed":["1",1,null],"colors":["blue","red"]}'
    )
    # mixed types sort by JSON text: '"1"' < '1' < 'null'


def test_nan_and_infinity_are_rejected_both_ways(codec):
    with pytest.raises(EncodingError) as error:
        codec.encode({"price": [1.0, float("nan")]}, where=WHERE)
    assert error.value.path == "price[1]" and error.value.type_name == "float"
    with pytest.raises(DecodingError):
        codec.decode('{"x": NaN}', where=WHERE)
    with pytest.raises(DecodingError):
        codec.decode("Infinity", float, where=WHERE)


@dataclass
class Cart:
    owner: str
    lines: list[Any]


@pytest.mark.parametrize(
    "bad", [Unserializable(), lambda: 1, object()], ids=["custom-class", "lambda", "object"]
)
def test_unserializable_value_names_where_path_and_type(codec, bad):
    value = {"order": Cart("ann", [1, 2, {"price": bad}])}
    with pytest.raises(EncodingError) as caught:
        codec.encode(value, where=WHERE)
    error = caught.value
    assert isinstance(error, SerializationError) and isinstance(error, UsageError)
    assert error.where == WHERE
    assert error.path == "order.lines[2].price"
    assert error.type_name == type(bad).__qualname__
    assert WHERE in error.message and "order.lines[2].price" in error.message
    assert "dataclass" in (error.hint or "")


def test_a_socket_is_not_serializable(codec):
    with socket.socket() as sock, pytest.raises(EncodingError) as caught:
        codec.encode([sock], where=WHERE)
    assert caught.value.type_name == "socket" and caught.value.path == "[0]"


def test_bad_values_in_keys_sets_and_cycles_are_reported(codec):
    with pytest.raises(EncodingError) as caught:
        codec.encode({"s": {Unserializable()}}, where=WHERE)
    assert caught.value.path == "s{*}"
    with pytest.raises(EncodingError) as caught:
        codec.encode({"m": {Unserializable(): 1}}, where=WHERE)
    assert caught.value.path.startswith("m[<key")
    loop: list[Any] = [1]
    loop.append({"again": loop})
    with pytest.raises(EncodingError) as caught:
        codec.encode(loop, where=WHERE)
    assert "circular" in caught.value.message and caught.value.path == "[1].again"


def test_decoding_errors_name_where_path_expected_and_found(codec):
    text = json.dumps(
        {
            "id": str(uuid.UUID(int=1)),
            "items": [{"sku": "a", "price": "1"}, {"sku": "b", "price": [1]}],
        }
    )
    with pytest.raises(DecodingError) as caught:
        codec.decode(text, Order, where="input of workflow 'process-order'")
    error = caught.value
    assert error.where == "input of workflow 'process-order'"
    assert error.path == "items[1].price"
    assert error.type_name == error.expected == "Decimal"
    assert error.found == "array of 1 item"


@pytest.mark.parametrize(
    ("text", "annotation", "path", "expected"),
    [
        ('{"id": "nope", "items": []}', Order, "id", "UUID"),
        ('{"items": []}', Order, "", "Order"),  # missing required field
        (
            '{"id": "00000000-0000-0000-0000-000000000001", "items": [], "extra": 1}',
            Order,
            "",
            "Order",
        ),
        ("true", int, "", "int"),
        ("1.5", int, "", "int"),
        ('"purple"', Color, "", "Color"),
        ("[1, 2, 3]", tuple[int, int], "", "tuple[int, int]"),
        ('{"1": "a", "x": "b"}', dict[int, str], "x", "int"),
        ('{"n": 0}', Positive, "", "Positive"),
        ('{"kind": "cow", "name": "x"}', Cat | Dog, "", "Cat | Dog"),
        ('"2026-13-01"', date, "", "date"),
        ('"P1Y"', timedelta, "", "timedelta"),
        ('"not base64!"', bytes, "", "bytes"),
        ("[[1], [1]]", set[list[int]], "", "set[list[int]]"),
        ('{"year": 1999}', Film, "", "Film"),
    ],
)
def test_json_that_does_not_fit_the_annotation_is_rejected(codec, text, annotation, path, expected):
    with pytest.raises(DecodingError) as caught:
        codec.decode(text, annotation, where=WHERE)
    assert (caught.value.path, caught.value.expected) == (path, expected)
    assert caught.value.where == WHERE


def test_missing_and_unknown_fields_are_named(codec):
    with pytest.raises(DecodingError, match="missing required field 'id'"):
        codec.decode('{"items": []}', Order, where=WHERE)
    with pytest.raises(DecodingError, match="unknown field 'extra'"):
        codec.decode('{"x": 1, "y": 2, "extra": 3}', Point, where=WHERE)
    lenient = JsonCodec(ignore_unknown_fields=True)
    assert lenient.decode('{"x": 1, "y": 2, "extra": 3}', Point, where=WHERE) == Point(1, 2)


def test_invalid_json_text_is_a_decoding_error(codec):
    with pytest.raises(DecodingError) as caught:
        codec.decode("{oops", Order, where=WHERE)
    assert caught.value.found == "invalid JSON" and caught.value.where == WHERE


def test_unsupported_annotations_fail_clearly(codec):
    with pytest.raises(DecodingError) as caught:
        codec.decode("{}", Unserializable, where=WHERE)
    assert caught.value.type_name == "Unserializable"
    with pytest.raises(DefinitionError, match="Unserializable"):
        codec.check_annotation(list[Unserializable], where="return of step 'x'")
    with pytest.raises(DefinitionError, match="Ghost"):
        codec.check_annotation(Broken, where="return of step 'x'")
    codec.check_annotation(Order, where="return of step 'x'")  # fine: no error
    assert codec.decode('{"x": 1, "y": 2}', Point, where=WHERE) == Point(1, 2)  # cache intact


def test_union_members_are_tried_in_order_exact_match_first(codec):
    assert type(codec.decode("1", float | int, where=WHERE)) is int
    assert type(codec.decode("1", float | str, where=WHERE)) is float  # coerced as a fallback
    assert codec.decode('{"kind": "cat", "name": "tom"}', Dog | Cat, where=WHERE) == Cat(
        "cat", "tom"
    )
    assert codec.decode('"2026-01-01"', date | str, where=WHERE) == date(2026, 1, 1)
    assert codec.decode('"2026-01-01"', str | date, where=WHERE) == "2026-01-01"


def test_to_and_from_jsonable_embed_values_in_larger_documents(codec):
    data = codec.to_jsonable(Point(1, 2), WHERE)
    assert data == {"x": 1, "y": 2}
    document = json.dumps({"result": data, "kind": "step"})
    assert codec.from_jsonable(json.loads(document)["result"], Point, WHERE) == Point(1, 2)
    with pytest.raises(DecodingError) as caught:
        codec.from_jsonable({"x": "1", "y": 2}, Point, WHERE, root="result")
    assert caught.value.path == "result.x"


# ---------------------------------------------------------------------- property tests


@dataclass
class Leaf:
    number: int
    ratio: float
    text: str
    flag: bool
    when: datetime
    day: date
    clock: time
    span: timedelta
    uid: uuid.UUID
    amount: Decimal
    raw: bytes
    color: Color
    maybe: int | None
    labels: frozenset[str]
    pair: tuple[int, str]
    numbers: tuple[int, ...]
    lookup: dict[int, str]


@dataclass
class Tree:
    name: str
    leaves: list[Leaf]
    children: list[Tree]
    by_color: dict[Color, list[int]]
    point: Point | None = None


@dataclass
class Simple:
    a: int
    b: str
    c: list[bool]
    d: dict[str, int | None]
    e: Color
    f: uuid.UUID
    g: date


finite = st.floats(allow_nan=False, allow_infinity=False)
leaves = st.builds(
    Leaf,
    ratio=finite,
    when=st.datetimes(timezones=st.none() | st.timezones() | st.just(timezone.utc)),
    amount=st.decimals(allow_nan=False, allow_infinity=False),
)
trees = st.deferred(
    lambda: st.builds(
        Tree,
        leaves=st.lists(leaves, max_size=2),
        children=st.lists(trees, max_size=2),
        by_color=st.dictionaries(st.sampled_from(Color), st.lists(st.integers())),
        point=st.none() | st.builds(Point),
    )
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(trees)
def test_nested_dataclasses_round_trip(tree):
    codec = JsonCodec()
    assert codec.decode(codec.encode(tree, where=WHERE), Tree, where=WHERE) == tree


@given(st.from_type(Simple))
def test_from_type_dataclasses_round_trip(value):
    codec = JsonCodec()
    assert codec.decode(codec.encode(value, where=WHERE), Simple, where=WHERE) == value


@given(json_values)
def test_plain_json_round_trips_and_matches_json_dumps(value):
    codec = JsonCodec()
    text = codec.encode(value, where=WHERE)
    assert text == json.dumps(value, separators=(",", ":"))
    assert codec.decode(text, where=WHERE) == value


@given(trees | st.sets(st.integers() | st.text()) | st.dictionaries(st.uuids(), st.integers()))
def test_fast_and_path_tracking_encoders_agree(value):
    codec = JsonCodec()
    slow = json.dumps(codec.to_jsonable(value, WHERE), separators=(",", ":"))
    assert codec.encode(value, where=WHERE) == slow == codec.encode(value, where=WHERE)


@given(st.dictionaries(st.integers(), st.text()))
def test_int_keyed_dicts_keep_their_order(value):
    codec = JsonCodec()
    decoded = codec.decode(codec.encode(value, where=WHERE), dict[int, str], where=WHERE)
    assert list(decoded.items()) == list(value.items())


# ---------------------------------------------------------------------- function inputs


def process_order(
    ctx: Context, order: Order, priority: int = 0, *, note: str | None = None
) -> Point:
    raise NotImplementedError


def unnamed_context(context: Context, n: int) -> None:
    raise NotImplementedError


def one_item(ctx, item: Item) -> None:
    raise NotImplementedError


def variadic(ctx, *numbers: int, **labels: Color) -> None:
    raise NotImplementedError


def no_inputs(ctx) -> None:
    raise NotImplementedError


def unresolvable(ctx, value: Missing) -> None:  # noqa: F821 - deliberately undefined
    raise NotImplementedError


def step_with_ctx_argument(ctx: str) -> None:
    raise NotImplementedError


ORDER_JSON = {"id": str(uuid.UUID(int=5)), "items": [{"sku": "a", "price": "1.5"}]}
ORDER = Order(uuid.UUID(int=5), [Item("a", Decimal("1.5"))])


def test_signature_types_resolves_string_annotations():
    parameters, returns = signature_types(process_order)
    assert list(parameters) == ["ctx", "order", "priority", "note"]
    assert parameters["order"] is Order and parameters["note"] == Optional[str]
    assert returns is Point
    assert parameters["ctx"] == "Context"  # left as written: only under TYPE_CHECKING
    assert signature_types(one_item) == ({"ctx": Any, "item": Item}, type(None))


def test_signature_types_names_an_unresolvable_annotation():
    with pytest.raises(DefinitionError) as caught:
        signature_types(unresolvable)
    assert "'value'" in caught.value.message and "Missing" in caught.value.message


def test_bind_arguments_decodes_against_the_signature_and_skips_the_context():
    args, kwargs = bind_arguments(process_order, [ORDER_JSON], {"note": "hi"}, "input")
    assert args == [ORDER] and kwargs == {"note": "hi"}
    assert bind_arguments(unnamed_context, [3], {}, "input") == ([3], {})
    assert bind_arguments(variadic, [1, 2], {"a": "red"}, "input") == ([1, 2], {"a": Color.RED})
    assert bind_arguments(step_with_ctx_argument, ["x"], {}, "input", skip_context=False) == (
        ["x"],
        {},
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "parameter", "fragment"),
    [
        ([], {}, "order", "missing argument 'order'"),
        ([ORDER_JSON], {"colour": 1}, "colour", "unknown argument 'colour'"),
        ([ORDER_JSON], {"order": ORDER_JSON}, "order", "given twice"),
        ([ORDER_JSON, 1, 2], {}, None, "too many positional arguments"),
    ],
)
def test_bind_arguments_rejects_input_that_does_not_fit(args, kwargs, parameter, fragment):
    with pytest.raises(ArgumentError) as caught:
        bind_arguments(process_order, args, kwargs, "input of workflow 'process-order'")
    error = caught.value
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert error.parameter == parameter and fragment in error.message
    assert error.where == "input of workflow 'process-order'"
    assert "order: Order" in (error.hint or "")


def test_bind_arguments_reports_a_wrong_type_with_the_parameter_path():
    bad = {**ORDER_JSON, "items": [{"sku": "a", "price": {"amount": 1}}]}
    with pytest.raises(DecodingError) as caught:
        bind_arguments(process_order, [], {"order": bad}, "input")
    assert caught.value.path == "order.items[0].price"
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize(
    ("fn", "data", "expected"),
    [
        (
            process_order,
            {"args": [ORDER_JSON], "kwargs": {"priority": 2}},
            ([ORDER], {"priority": 2}),
        ),
        (
            process_order,
            {"order": ORDER_JSON, "priority": 1},
            ([], {"order": ORDER, "priority": 1}),
        ),
        (process_order, [ORDER_JSON, 3], ([ORDER, 3], {})),
        (one_item, {"sku": "x", "price": "2"}, ([Item("x", Decimal("2"))], {})),
        (one_item, {"item": {"sku": "x", "price": "2"}}, ([], {"item": Item("x", Decimal("2"))})),
        (unnamed_context, 4, ([4], {})),
        (no_inputs, None, ([], {})),
        (no_inputs, {}, ([], {})),
    ],
)
def test_arguments_from_json_shapes(fn, data, expected):
    assert arguments_from_json(fn, data, "input") == expected


def test_arguments_from_json_rejects_a_scalar_for_many_parameters():
    with pytest.raises(ArgumentError) as caught:
        arguments_from_json(process_order, 5, "input")
    assert "number 5" in caught.value.message
