"""JSON forms of scalar values, and the small decoders the codec composes.

Split from :mod:`wfkit.engine.codec` so that module holds the type-directed machinery: here are the
leaves (how a datetime, a duration or a Decimal looks in JSON; how one JSON value is checked
against one scalar type) and the mismatch error they raise.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

Decoder = Callable[[Any], Any]

# Members of one of these types sort the same way in every process (a total order, no salt).
_TOTALLY_ORDERED = frozenset(
    {int, float, str, bytes, Decimal, uuid.UUID, date, datetime, time, timedelta}
)

_DURATION = re.compile(
    r"([-+])?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,6}))?S)?)?"
)
_ZONE_SUFFIX = re.compile(r"(.+)\[([^\]]+)\]")


class _Mismatch(Exception):
    def __init__(self, label: str, data: Any, detail: str | None = None) -> None:
        super().__init__(label)
        self.label = label  # "UUID (string)": the type, then the JSON form it takes
        self.expected = label.partition(" (")[0] if label.endswith(")") else label
        self.found = _describe(data)
        self.detail = detail
        self.path: list[str] = []  # innermost segment first


def _describe(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, (int, float)):
        return f"number {data!r}"
    if isinstance(data, str):
        shown = data if len(data) <= 40 else data[:37] + "..."
        return f"string {shown!r}"
    if isinstance(data, list):
        return f"array of {len(data)} item{'' if len(data) == 1 else 's'}"
    if isinstance(data, dict):
        keys = ", ".join(repr(k) for k in list(data)[:5])
        return f"object with keys {keys}" if data else "empty object"
    return f"Python {type(data).__qualname__}"


# --------------------------------------------------------------------------- scalar forms


def _format_datetime(value: datetime) -> str:
    text = value.isoformat()
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo) and zone.key:
        text += f"[{zone.key}]"
    return text


def _parse_datetime(text: str) -> datetime:
    zoned = _ZONE_SUFFIX.fullmatch(text)
    base_text = zoned.group(1) if zoned else text
    if base_text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from Python 3.11
        base_text = base_text[:-1] + "+00:00"
    base = datetime.fromisoformat(base_text)
    if not zoned:
        return base
    if base.tzinfo is None:
        raise ValueError("a zone suffix needs a UTC offset")
    zone = ZoneInfo(zoned.group(2))
    wall = base.replace(tzinfo=None)
    for fold in (0, 1):  # keep the wall time (and pick the fold) when it fits the offset
        candidate = wall.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == base.utcoffset():
            return candidate
    return base.astimezone(zone)  # the zone's rules changed: keep the instant


def _format_timedelta(value: timedelta) -> str:
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or value.microseconds or not (value.days or clock):
        fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        clock += f"{seconds}{fraction}S"
    text = f"{sign}P{value.days}D" if value.days else f"{sign}P"
    return text + ("T" + clock if clock else "")


def _parse_timedelta(text: str) -> timedelta:
    match = _DURATION.fullmatch(text)
    if not match or not any(match.groups()[1:]):
        raise ValueError("not an ISO 8601 duration like 'P1DT2H30M' or 'PT0.5S'")
    sign, days, hours, minutes, seconds, fraction = match.groups()
    value = timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
        microseconds=int((fraction or "").ljust(6, "0")),
    )
    return -value if sign == "-" else value


def _scalar_form(value: object) -> str | None:
    """The string form of a typed scalar, or None when ``value`` is not one."""
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _format_timedelta(value)
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return None


def _set_order(members: list[Any], text_of: Callable[[int], str]) -> list[int]:
    """Indices of ``members`` in their stable order (see the module docstring)."""
    if members and type(members[0]) in _TOTALLY_ORDERED:
        kind = type(members[0])
        if all(type(m) is kind for m in members):
            try:
                return sorted(range(len(members)), key=members.__getitem__)
            except (TypeError, ArithmeticError):  # naive vs aware, Decimal NaN: fall through
                pass
    texts = [text_of(i) for i in range(len(members))]
    return sorted(range(len(members)), key=texts.__getitem__)


def _rejects_nan(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON")


# --------------------------------------------------------------------------- leaf decoders


def _identity(data: Any) -> Any:
    return data


def _expect_none(data: Any) -> None:
    if data is not None:
        raise _Mismatch("None (null)", data)


def _exact(kind: type, label: str) -> Decoder:
    def decode(data: Any) -> Any:
        if type(data) is kind:
            return data
        raise _Mismatch(label, data)

    return decode


def _from_string(
    parse: Callable[[str], Any], label: str, number: Callable[[Any], Any] | None = None
) -> Decoder:
    def decode(data: Any) -> Any:
        if type(data) is str:
            try:
                return parse(data)
            except (ValueError, TypeError, ArithmeticError, binascii.Error, LookupError) as error:
                raise _Mismatch(label, data, str(error) or None) from None
        if number is not None and type(data) in (int, float):
            try:
                return number(data)
            except (ValueError, OverflowError, ArithmeticError) as error:
                raise _Mismatch(label, data, str(error)) from None
        raise _Mismatch(label, data)

    return decode


def _loose_float(data: Any) -> float:
    if type(data) is float:
        return data
    if type(data) is int:
        try:
            return float(data)
        except OverflowError:
            raise _Mismatch("float", data, "too large for a float") from None
    raise _Mismatch("float", data)


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _scalar_pair(strict: Decoder, loose: Decoder | None = None) -> dict[bool, Decoder]:
    return {True: strict, False: loose or strict}


_SCALARS: dict[type, dict[bool, Decoder]] = {
    bool: _scalar_pair(_exact(bool, "bool")),
    int: _scalar_pair(_exact(int, "int")),
    float: _scalar_pair(_exact(float, "float"), _loose_float),
    str: _scalar_pair(_exact(str, "str")),
    bytes: _scalar_pair(_from_string(_b64, "bytes (base64 string)")),
    bytearray: _scalar_pair(
        _from_string(lambda t: bytearray(_b64(t)), "bytearray (base64 string)")
    ),
    datetime: _scalar_pair(_from_string(_parse_datetime, "datetime (ISO 8601 string)")),
    date: _scalar_pair(_from_string(date.fromisoformat, "date (ISO 8601 string)")),
    time: _scalar_pair(_from_string(time.fromisoformat, "time (ISO 8601 string)")),
    timedelta: _scalar_pair(
        _from_string(_parse_timedelta, "timedelta (ISO 8601 duration)"),
        _from_string(
            _parse_timedelta,
            "timedelta (ISO 8601 duration or seconds)",
            lambda n: timedelta(seconds=n),
        ),
    ),
    uuid.UUID: _scalar_pair(_from_string(uuid.UUID, "UUID (string)")),
    Decimal: _scalar_pair(
        _from_string(Decimal, "Decimal (string)"),
        _from_string(
            Decimal,
            "Decimal (string or number)",
            lambda n: Decimal(n if type(n) is int else repr(n)),
        ),
    ),
}


def _list_of(each: Decoder, label: str) -> Decoder:
    if each is _identity:

        def decode_plain_list(data: Any) -> Any:
            if isinstance(data, list):
                return data
            raise _Mismatch(f"{label} (a JSON array)", data)

        return decode_plain_list

    def decode_list(data: Any) -> Any:
        if not isinstance(data, list):
            raise _Mismatch(f"{label} (a JSON array)", data)
        out = []
        for index, item in enumerate(data):
            try:
                out.append(each(item))
            except _Mismatch as error:
                error.path.append(f"[{index}]")
                raise
        return out

    return decode_list


def _tuple_of(decoders: list[Decoder], label: str) -> Decoder:
    def decode_tuple(data: Any) -> Any:
        if not isinstance(data, list) or len(data) != len(decoders):
            raise _Mismatch(f"{label} (an array of {len(decoders)} items)", data)
        out = []
        for index, (decode, item) in enumerate(zip(decoders, data)):
            try:
                out.append(decode(item))
            except _Mismatch as error:
                error.path.append(f"[{index}]")
                raise
        return tuple(out)

    return decode_tuple


def _set_of(each: Decoder, kind: type, label: str) -> Decoder:
    as_list = _list_of(each, label)

    def decode_set(data: Any) -> Any:
        members = as_list(data)
        try:
            return kind(members)
        except TypeError as error:
            raise _Mismatch(label, data, f"members must be hashable: {error}") from None

    return decode_set


def _dict_of(keys: Decoder, values: Decoder, kind: type, label: str) -> Decoder:
    plain = keys is _identity and values is _identity and kind is dict

    def decode_dict(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _Mismatch(f"{label} (a JSON object)", data)
        if plain:
            return data
        out = kind()
        for key, item in data.items():
            try:
                decoded_key = keys(key)
            except _Mismatch as error:
                error.detail = error.detail or f"the key {key!r}"
                error.path.append(_key_segment(key))
                raise
            try:
                out[decoded_key] = values(item)
            except _Mismatch as error:
                error.path.append(_key_segment(key))
                raise
        return out

    return decode_dict


def _key_segment(key: Any) -> str:
    return f".{key}" if isinstance(key, str) and key.isidentifier() else f"[{key!r}]"
