"""The JSON codec: how workflow inputs, step results, event payloads and child results are stored.

Why JSON and never pickle: stored values outlive the code that wrote them (a run can sleep for a
week across deploys), are read by people (``wfkit show``) and other languages, and must never run
code when loaded. Why *annotations* drive decoding: JSON carries no Python types, so the
parameter or return annotation says what to rebuild. With no annotation (or ``Any``) a value comes
back as its JSON form: a dataclass as a dict, a datetime as its ISO string, a Decimal as a string.

The contract, in one place:

* Encoding follows runtime types and is deterministic: the same value always gives the same
  compact text. Dict key order is kept (never sorted: a workflow that iterates a dict must see
  the same order on replay); sets and frozensets are written sorted (natural order when all
  members share one totally ordered type such as ``int`` or ``str``, else by each member's JSON
  text). Dataclasses become objects of all their fields in definition order, enums their
  value, tuples and NamedTuples arrays, ``datetime``/``date``/``time`` ISO 8601 (an aware
  datetime keeps its offset, and a ``ZoneInfo`` zone as an RFC 9557 suffix
  ``2026-03-01T09:00:00+01:00[Europe/Paris]``; naive stays naive), ``timedelta`` an ISO 8601
  duration (``P1DT2H``, ``-PT0.5S``), ``UUID`` and ``Decimal`` strings (exact), ``bytes`` base64.
* Non-string dict keys (``int``, enum, ``UUID``, ``date``...) are written as strings: a key whose
  JSON form is a string is used as is, any other key as its JSON text (``1`` -> ``"1"``, the
  same as :func:`json.dumps`). Keys that collide once written (``{1: "a", "1": "b"}``) are not
  detected; the engine decodes every value before the workflow sees it, so the loss shows on the
  first run, not on a replay.
* ``nan`` and infinities are rejected (they are not JSON); use ``None``, a string or a Decimal.
* Decoding is strict: JSON that does not fit the annotation raises :class:`DecodingError` naming
  the path, what was expected and what was found. A dataclass or TypedDict object with an unknown
  key is an error unless the codec is built with ``ignore_unknown_fields=True`` (useful when a
  field was removed while runs that recorded it are still in flight). A few friendly coercions
  help hand-written input: an ``int`` where a ``float`` is expected, a number for a ``Decimal``
  or (in seconds) a ``timedelta``, an object by field name for a NamedTuple.
* ``Union`` / ``X | None``: ``None`` matches ``null``; other members are tried in order, first
  without any coercion, then with; the first that decodes wins. So ``float | int`` and
  ``int | float`` both round-trip, but two members with the same JSON form (two dataclasses with
  the same fields, ``datetime | str``) decode as the first: tag such unions with a ``Literal``
  field.
"""

from __future__ import annotations

import collections
import collections.abc as abc
import dataclasses
import enum
import inspect
import json
import math
import threading
import types
import typing
import uuid
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin

from wfkit.engine.codec_checks import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    RoundTripError,
    check_size,
    difference,
)
from wfkit.engine.codec_forms import (
    _SCALARS,
    Decoder,
    _dict_of,
    _expect_none,
    _identity,
    _key_segment,
    _list_of,
    _Mismatch,
    _rejects_nan,
    _scalar_form,
    _set_of,
    _set_order,
    _tuple_of,
)
from wfkit.errors import DefinitionError, SerializationError

__all__ = ["DecodingError", "EncodingError", "JsonCodec", "annotation_name"]

ENCODE_HINT = (
    "use a dataclass, an Enum or basic types (str, int, float, bool, None, list, dict; "
    "datetime, date, time, timedelta, UUID, Decimal, bytes, tuple and set also work)"
)
_NONE_TYPE = type(None)
_AS_IS = frozenset({int, str, bool, _NONE_TYPE})  # see JsonCodec.replays_as_is
_encode_str = json.encoder.encode_basestring_ascii  # JsonCodec encodes with ensure_ascii
_SEQUENCES = frozenset({list, abc.Sequence, abc.MutableSequence, abc.Collection, abc.Iterable})
_SETS = frozenset({set, frozenset, abc.Set, abc.MutableSet})
_MAPPINGS = frozenset({dict, abc.Mapping, abc.MutableMapping, collections.OrderedDict})


class EncodingError(SerializationError):
    """A value cannot be written as JSON. ``type_name`` is the offending type, ``path`` where it
    sits inside the value (``order.items[2].price``; empty for the value itself)."""

    def __init__(self, message: str, *, where: str, type_name: str, path: str) -> None:
        super().__init__(message, where=where, type_name=type_name, hint=ENCODE_HINT)
        self.path = path


class DecodingError(SerializationError):
    """Stored or given JSON does not fit its annotation. ``type_name`` and ``expected`` name the
    expected type, ``found`` describes the JSON that was there, ``path`` where inside it."""

    def __init__(
        self,
        message: str,
        *,
        where: str,
        path: str,
        expected: str,
        found: str,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, where=where, type_name=expected, hint=hint)
        self.path = path
        self.expected = expected
        self.found = found


class _Unencodable(Exception):
    def __init__(self, type_name: str, reason: str) -> None:
        super().__init__(reason)
        self.type_name = type_name
        self.reason = reason
        self.path: list[str] = []  # innermost segment first


class _Unsupported(Exception):
    """An annotation the codec cannot decode to (found while building its decoder)."""


def _join_path(segments: list[str], root: str = "") -> str:
    text = root + "".join(reversed(segments))
    return text[1:] if text.startswith(".") else text


def annotation_name(annotation: object) -> str:
    """A short readable name for an annotation (``Order``, ``list[int]``, ``int | None``)."""
    if annotation is _NONE_TYPE or annotation is None:
        return "None"
    if isinstance(annotation, type) and not get_args(annotation):
        return annotation.__qualname__
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return " | ".join(annotation_name(a) for a in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None and args:
        inner = ", ".join("..." if a is Ellipsis else annotation_name(a) for a in args)
        return f"{annotation_name(origin)}[{inner}]"
    return repr(annotation).replace("typing.", "")


# --------------------------------------------------------------------------- the codec

# One decoder built once: json.loads with options builds a new JSONDecoder on every call.
_JSON_DECODER = json.JSONDecoder(parse_constant=_rejects_nan)


class JsonCodec:
    """Encodes values to JSON text and decodes them back to their annotated types.

    One instance per engine (or test): it caches a decoder per annotation, so decoding a type
    costs its field walk only, not the type introspection, after the first time.
    """

    def __init__(
        self,
        *,
        ignore_unknown_fields: bool = False,
        max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.ignore_unknown_fields = ignore_unknown_fields
        self.max_payload_bytes = max_payload_bytes  # see wfkit.engine.codec_checks; None: no limit
        self._decoders: dict[tuple[Any, bool], Decoder] = {}
        self._pending: dict[tuple[Any, bool], Decoder] = {}
        self._depth = 0
        self._lock = threading.RLock()
        self._hints: dict[type, dict[str, Any]] = {}
        self._fast = json.JSONEncoder(
            ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=self._default
        )
        self._plain = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        # ensure_ascii: every Python str (lone surrogates too) survives any store's text column.
        # A subclass that changes decoding must not have the engine skip it (replays_as_is).
        cls = type(self)
        self._standard_decoding = (
            cls.decode is JsonCodec.decode and cls.from_jsonable is JsonCodec.from_jsonable
        )

    # ---- encoding

    def encode(self, value: object, *, where: str) -> str:
        """``value`` as compact, deterministic JSON text; :class:`EncodingError` if it cannot be,
        :class:`~wfkit.engine.codec_checks.PayloadTooLarge` if it is over ``max_payload_bytes``."""
        text = self._encode(value, where)
        check_size(text, self.max_payload_bytes, where)
        return text

    def check_size(self, text: str, *, where: str) -> None:
        """Refuse JSON ``text`` encoded elsewhere (a workflow's input) that is over the limit."""
        check_size(text, self.max_payload_bytes, where)

    def settle(self, value: object, text: str, annotation: object, *, where: str) -> Any:
        """What the workflow gets for a returned ``value`` (encoded as ``text``): what a replay
        will decode, which must be ``value`` itself (:class:`RoundTripError` otherwise: see
        :mod:`wfkit.engine.codec_checks`). Exact ints, strs, ... skip the round trip."""
        if self.replays_as_is(value, annotation):
            return value
        back = self.decode(text, annotation, where=where)
        found = difference(value, back)
        if found is not None:
            path, returned, comes_back = found
            raise RoundTripError(
                where=where,
                path=path,
                returned=returned.__qualname__,
                comes_back=comes_back.__qualname__,
                annotation=annotation_name(annotation),
            )
        return back

    def _encode(self, value: object, where: str) -> str:
        kind = type(value)
        if kind is str:  # what JSONEncoder.encode does for a str, without the call layers
            return _encode_str(value)  # type: ignore[arg-type]
        if kind is int:  # the C encoder writes int.__repr__; too many digits falls through
            try:
                return int.__repr__(value)
            except ValueError:
                pass
        try:
            return self._fast.encode(value)  # C encoder; _default handles the typed values
        except (TypeError, ValueError, RecursionError, ArithmeticError, _Unencodable):
            pass  # odd keys, a bad value somewhere: redo slowly to find the exact path
        return self._plain_text(self.to_jsonable(value, where), where)

    def replays_as_is(self, value: object, annotation: object) -> bool:
        """True when decoding ``encode(value)`` as ``annotation`` provably gives ``value`` back.

        That holds for an exact ``int``, ``str``, ``bool`` or ``None`` whose annotation is its
        own type or plain JSON (``Any``): JSON keeps them exactly and their decoders are type
        checks. The engine then hands a fresh result to the workflow without the round trip,
        and it is still what a replay will decode. Floats (``-0.0``, ``float`` annotations
        taking ints), containers and subclasses always take the round trip.
        """
        kind = type(value)
        if kind not in _AS_IS or not self._standard_decoding:
            return False
        return (
            annotation is kind
            or annotation is Any
            or annotation is object
            or annotation is inspect.Parameter.empty
            or (value is None and annotation is None)
        )

    def to_jsonable(self, value: object, where: str, *, root: str = "") -> Any:
        """``value`` as plain JSON data (dict, list, str, int, float, bool, None), for embedding
        in a larger document. ``root`` prefixes error paths (e.g. the parameter name)."""
        try:
            return self._walk(value, set())
        except _Unencodable as error:
            path = _join_path(error.path, root)
            subject = f"{path}: " if path else ""
            raise EncodingError(
                f"cannot encode {where}: {subject}{error.reason}",
                where=where,
                type_name=error.type_name,
                path=path,
            ) from None
        except RecursionError:
            raise EncodingError(
                f"cannot encode {where}: the value is nested too deeply",
                where=where,
                type_name=type(value).__qualname__,
                path=root,
            ) from None

    def _plain_text(self, data: Any, where: str) -> str:
        try:
            return self._plain.encode(data)
        except ValueError as error:  # e.g. an int beyond the int-to-str digit limit
            raise EncodingError(
                f"cannot encode {where}: {error}", where=where, type_name="int", path=""
            ) from None

    def _default(self, value: object) -> Any:
        """The C encoder's fallback: must give exactly what :meth:`_walk` gives."""
        if isinstance(value, enum.Enum):
            return value.value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        form = _scalar_form(value)
        if form is not None:
            return form
        if isinstance(value, (set, frozenset)):
            members = list(value)
            order = _set_order(members, lambda i: self._fast.encode(members[i]))
            return [members[i] for i in order]
        raise _Unencodable(type(value).__qualname__, "not JSON-serializable")

    def _walk(self, value: Any, active: set[int]) -> Any:
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return value
        if isinstance(value, enum.Enum):
            return self._walk(value.value, active)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _Unencodable(
                    "float", f"float {value!r} is not valid JSON (use None, a string or a Decimal)"
                )
            return value
        if isinstance(value, (str, int)):
            return value
        if isinstance(value, (dict, list, tuple, set, frozenset)) or (
            dataclasses.is_dataclass(value) and not isinstance(value, type)
        ):
            if id(value) in active:
                raise _Unencodable(kind.__qualname__, "circular reference")
            active.add(id(value))
            try:
                return self._walk_container(value, active)
            finally:
                active.discard(id(value))
        form = _scalar_form(value)
        if form is not None:
            return form
        raise _Unencodable(
            kind.__qualname__, f"object of type {kind.__qualname__} is not JSON-serializable"
        )

    def _walk_container(self, value: Any, active: set[int]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                text = self._key_text(key, active)
                try:
                    out[text] = self._walk(item, active)
                except _Unencodable as error:
                    error.path.append(_key_segment(key))
                    raise
            return out
        if isinstance(value, (list, tuple)):
            items = []
            for index, item in enumerate(value):
                try:
                    items.append(self._walk(item, active))
                except _Unencodable as error:
                    error.path.append(f"[{index}]")
                    raise
            return items
        if isinstance(value, (set, frozenset)):
            members = list(value)
            try:
                forms = [self._walk(m, active) for m in members]
            except _Unencodable as error:
                error.path.append("{*}")
                raise
            order = _set_order(members, lambda i: self._plain.encode(forms[i]))
            return [forms[i] for i in order]
        out = {}
        for field in dataclasses.fields(value):
            try:
                out[field.name] = self._walk(getattr(value, field.name), active)
            except _Unencodable as error:
                error.path.append(f".{field.name}")
                raise
        return out

    def _key_text(self, key: Any, active: set[int]) -> str:
        if type(key) is str:
            return key
        try:
            form = self._walk(key, active)
        except _Unencodable as error:
            error.path.append(f"[<key {type(key).__qualname__}>]")
            raise
        return form if isinstance(form, str) else self._plain.encode(form)

    # ---- decoding

    def decode(self, text: str | bytes, annotation: object = Any, *, where: str) -> Any:
        """Parse JSON ``text`` and rebuild it as ``annotation`` (``Any``: plain JSON data)."""
        try:
            data = _JSON_DECODER.decode(text if isinstance(text, str) else text.decode())
        except ValueError as error:  # JSONDecodeError, NaN, bad UTF-8
            raise DecodingError(
                f"cannot decode {where}: invalid JSON: {error}",
                where=where,
                path="",
                expected=annotation_name(annotation),
                found="invalid JSON",
                hint="pass well-formed JSON, e.g. '{\"key\": 1}'",
            ) from None
        if annotation is Any:
            return data
        return self.from_jsonable(data, annotation, where)

    def from_jsonable(self, data: Any, annotation: object, where: str, *, root: str = "") -> Any:
        """Rebuild plain JSON ``data`` (as :func:`json.loads` gives it) as ``annotation``."""
        if annotation is Any:
            return data
        decoder = self._decoder_or_error(annotation, where)
        try:
            return decoder(data)
        except _Mismatch as error:
            path = _join_path(error.path, root)
            subject = f"{path}: " if path else ""
            detail = f" ({error.detail})" if error.detail else ""
            raise DecodingError(
                f"cannot decode {where}: {subject}expected {error.label}, found "
                f"{error.found}{detail}",
                where=where,
                path=path,
                expected=error.expected,
                found=error.found,
                hint="fix the JSON to match the annotation, or change the annotation",
            ) from None
        except RecursionError:
            raise DecodingError(
                f"cannot decode {where}: the value is nested too deeply",
                where=where,
                path=root,
                expected=annotation_name(annotation),
                found="deep nesting",
            ) from None

    def check_annotation(self, annotation: object, *, where: str) -> None:
        """Raise :class:`DefinitionError` now if values can never be decoded to ``annotation``
        (decorators call this, so a bad annotation fails at import, not mid-run)."""
        try:
            self._decoder(annotation, False)
        except _Unsupported as error:
            raise DefinitionError(f"{where}: {error}", hint=ENCODE_HINT) from None

    def _decoder_or_error(self, annotation: object, where: str) -> Decoder:
        try:
            return self._decoder(annotation, False)
        except _Unsupported as error:
            raise DecodingError(
                f"cannot decode {where}: {error}",
                where=where,
                path="",
                expected=annotation_name(annotation),
                found="an unsupported annotation",
                hint=ENCODE_HINT,
            ) from None

    def _decoder(self, annotation: object, strict: bool) -> Decoder:
        # Unions compare equal whatever their order (int | str == str | int) but decode in order,
        # so a non-class annotation is keyed by its repr too.
        key = (
            annotation if isinstance(annotation, type) else (annotation, repr(annotation)),
            strict,
        )
        try:
            found = self._decoders.get(key)
        except TypeError:  # unhashable annotation (e.g. Annotated with a dict): no caching
            return self._build(annotation, strict)
        if found is not None:
            return found
        # Decoders are built under a lock and published only when complete, so other threads
        # never see a half-built one. A forwarder is registered first so recursive types (a Node
        # with children: list[Node]) terminate.
        with self._lock:
            found = self._decoders.get(key) or self._pending.get(key)
            if found is not None:
                return found
            target: list[Decoder] = []
            self._pending[key] = lambda data: target[0](data)
            self._depth += 1
            try:
                built = self._build(annotation, strict)
            except BaseException:
                if self._depth == 1:
                    self._pending.clear()  # drop everything that saw the forwarder
                raise
            finally:
                self._depth -= 1
            target.append(built)
            self._pending[key] = built
            if self._depth == 0:
                self._decoders.update(self._pending)
                self._pending.clear()
            return built

    def _build(self, ann: Any, strict: bool) -> Decoder:
        if ann is Any or ann is object or ann is inspect.Parameter.empty:
            return _identity
        if ann is None or ann is _NONE_TYPE:
            return _expect_none
        if isinstance(ann, (str, typing.ForwardRef)):
            raise _Unsupported(
                f"the annotation {ann!r} is an unresolved forward reference "
                "(resolve it with typing.get_type_hints first)"
            )
        if isinstance(ann, typing.TypeVar):
            return self._decoder(ann.__bound__ or Any, strict)
        if isinstance(ann, typing.NewType):
            return self._decoder(ann.__supertype__, strict)
        origin, args = get_origin(ann), get_args(ann)
        if origin is typing.Annotated:
            return self._decoder(args[0], strict)
        if origin in (Union, types.UnionType):
            return self._union(ann, args, strict)
        if origin is Literal:
            return self._literal(ann, args)
        if origin is not None:
            return self._generic(ann, origin, args, strict)
        if isinstance(ann, type):
            return self._class(ann, strict)
        raise _Unsupported(f"the annotation {ann!r} is not supported")

    def _generic(self, ann: Any, origin: Any, args: tuple[Any, ...], strict: bool) -> Decoder:
        if origin in _SEQUENCES:
            return _list_of(self._decoder(args[0] if args else Any, strict), annotation_name(ann))
        if origin is tuple:
            if ann is typing.Tuple:  # noqa: UP006 - bare typing.Tuple means any tuple
                args = (Any, Ellipsis)
            if len(args) == 2 and args[1] is Ellipsis:
                each = _list_of(self._decoder(args[0], strict), annotation_name(ann))
                return lambda data: tuple(each(data))
            return _tuple_of([self._decoder(a, strict) for a in args], annotation_name(ann))
        if origin in _SETS:
            return _set_of(
                self._decoder(args[0] if args else Any, strict),
                frozenset if origin is frozenset else set,
                annotation_name(ann),
            )
        if origin in _MAPPINGS:
            key_ann, value_ann = args if args else (Any, Any)
            return _dict_of(
                self._key_decoder(key_ann, strict),
                self._decoder(value_ann, strict),
                origin if origin is collections.OrderedDict else dict,
                annotation_name(ann),
            )
        if isinstance(origin, type) and dataclasses.is_dataclass(origin):
            parameters = getattr(origin, "__parameters__", ())
            return self._dataclass(origin, strict, dict(zip(parameters, args)))
        raise _Unsupported(f"the annotation {annotation_name(ann)} is not supported")

    def _class(self, cls: type, strict: bool) -> Decoder:
        if cls in _SCALARS:
            return _SCALARS[cls][strict]
        if issubclass(cls, enum.Enum):
            return self._enum(cls)
        if dataclasses.is_dataclass(cls):
            return self._dataclass(cls, strict, {})
        if issubclass(cls, tuple) and hasattr(cls, "_fields"):
            return self._namedtuple(cls, strict)
        if typing.is_typeddict(cls) or (
            issubclass(cls, dict) and hasattr(cls, "__required_keys__")
        ):
            return self._typeddict(cls, strict)
        if cls in (list, set, frozenset, dict):
            return self._generic(cls, cls, (), strict)
        if cls is tuple:
            return self._generic(cls, cls, (Any, Ellipsis), strict)
        for base in (str, int, float):  # a subclass such as `class UserId(str)`
            if issubclass(cls, base) and cls is not bool:
                parse = _SCALARS[base][strict]
                return lambda data: cls(parse(data))
        raise _Unsupported(f"values of type {cls.__qualname__} cannot be decoded from JSON")

    def _type_hints(self, cls: type) -> dict[str, Any]:
        try:
            return self._hints[cls]
        except KeyError:
            pass
        try:
            hints = typing.get_type_hints(cls)
        except Exception as error:  # NameError for a name defined only locally / TYPE_CHECKING
            raise _Unsupported(
                f"cannot resolve the annotations of {cls.__qualname__}: {error} "
                "(define the types it uses at module level)"
            ) from None
        self._hints[cls] = hints
        return hints

    def _dataclass(self, cls: type, strict: bool, bindings: dict[Any, Any]) -> Decoder:
        hints = self._type_hints(cls)
        name = cls.__qualname__
        fields = []
        for field in dataclasses.fields(cls):
            if field.init:
                required = (
                    field.default is dataclasses.MISSING
                    and field.default_factory is dataclasses.MISSING
                )
                decode = self._decoder(_substitute(hints.get(field.name, Any), bindings), strict)
                fields.append((field.name, decode, required))
        known = frozenset(f.name for f in dataclasses.fields(cls))  # non-init fields: ignored
        check_unknown = strict or not self.ignore_unknown_fields

        def decode_dataclass(data: Any) -> Any:
            if not isinstance(data, dict):
                raise _Mismatch(f"{name} (a JSON object)", data)
            kwargs = {}
            for field_name, decode, required in fields:
                if field_name in data:
                    try:
                        kwargs[field_name] = decode(data[field_name])
                    except _Mismatch as error:
                        error.path.append(f".{field_name}")
                        raise
                elif required:
                    raise _Mismatch(name, data, f"missing required field {field_name!r}")
            if check_unknown:
                _reject_unknown(data, known, name)
            try:
                return cls(**kwargs)
            except Exception as error:  # validation in __post_init__
                raise _Mismatch(
                    name, data, f"{name}(...) raised {type(error).__name__}: {error}"
                ) from None

        return decode_dataclass

    def _namedtuple(self, cls: Any, strict: bool) -> Decoder:
        hints = self._type_hints(cls)
        names = list(cls._fields)
        decoders = [self._decoder(hints.get(n, Any), strict) for n in names]
        required = sum(1 for n in names if n not in cls._field_defaults)
        name = cls.__qualname__

        def decode_namedtuple(data: Any) -> Any:
            if isinstance(data, dict) and not strict:  # hand-written input by field name
                _reject_unknown(data, frozenset(names), name)
                missing = [n for n in names[:required] if n not in data]
                if missing:
                    raise _Mismatch(name, data, f"missing required field {missing[0]!r}")
                data = [data[n] for n in names if n in data]
            if not isinstance(data, list) or not required <= len(data) <= len(names):
                raise _Mismatch(f"{name} (an array of {required}..{len(names)} items)", data)
            values = []
            for index, (field_name, item) in enumerate(zip(names, data)):
                try:
                    values.append(decoders[index](item))
                except _Mismatch as error:
                    error.path.append(f".{field_name}")
                    raise
            return cls(*values)

        return decode_namedtuple

    def _typeddict(self, cls: Any, strict: bool) -> Decoder:
        decoders = {k: self._decoder(v, strict) for k, v in self._type_hints(cls).items()}
        required = frozenset(cls.__required_keys__)
        check_unknown = strict or not self.ignore_unknown_fields
        name = cls.__qualname__

        def decode_typeddict(data: Any) -> Any:
            if not isinstance(data, dict):
                raise _Mismatch(f"{name} (a JSON object)", data)
            missing = sorted(required.difference(data))
            if missing:
                raise _Mismatch(name, data, f"missing required key {missing[0]!r}")
            out = {}
            for key, item in data.items():
                decode = decoders.get(key)
                if decode is None:
                    if check_unknown:
                        _reject_unknown(data, frozenset(decoders), name)
                    continue
                try:
                    out[key] = decode(item)
                except _Mismatch as error:
                    error.path.append(_key_segment(key))
                    raise
            return out

        return decode_typeddict

    def _enum(self, cls: type[enum.Enum]) -> Decoder:
        forms = []
        for member in cls:
            try:
                forms.append((self._walk(member.value, set()), member))
            except _Unencodable:
                continue
        takes_bool = any(type(form) is bool for form, _ in forms)
        expected = f"{cls.__qualname__} (one of {', '.join(repr(f) for f, _ in forms[:8])})"

        def decode_enum(data: Any) -> Any:
            if type(data) is not bool or takes_bool:
                try:
                    return cls(data)
                except (ValueError, TypeError):
                    pass
                for form, member in forms:  # values such as tuples, stored as arrays
                    if form == data and type(form) is type(data):
                        return member
            raise _Mismatch(expected, data)

        return decode_enum

    def _literal(self, ann: Any, args: tuple[Any, ...]) -> Decoder:
        options = [(self._walk(a.value if isinstance(a, enum.Enum) else a, set()), a) for a in args]
        expected = annotation_name(ann)

        def decode_literal(data: Any) -> Any:
            for form, value in options:
                if form == data and type(form) is type(data):
                    return value
            raise _Mismatch(expected, data)

        return decode_literal

    def _union(self, ann: Any, args: tuple[Any, ...], strict: bool) -> Decoder:
        nullable = _NONE_TYPE in args
        members = [a for a in args if a is not _NONE_TYPE]
        exact = [self._decoder(a, True) for a in members]
        loose = [] if strict else [self._decoder(a, False) for a in members]
        expected = annotation_name(ann)

        def decode_union(data: Any) -> Any:
            if data is None and nullable:
                return None
            failures = []
            for decode in (*exact, *loose):
                try:
                    return decode(data)
                except _Mismatch as error:
                    failures.append(error)
            reasons = "; ".join(
                f"not {f.label}"
                + (f" ({f.detail})" if f.detail else "")
                + (f" at {_join_path(f.path)}" if f.path else "")
                for f in failures[: len(members)]
            )
            raise _Mismatch(expected, data, reasons or None)

        return decode_union

    def _key_decoder(self, ann: Any, strict: bool) -> Decoder:
        """Keys arrive as strings: use them as is for string-form types, else parse them first."""
        if ann is str:  # JSON keys are strings already
            return _identity
        decode = self._decoder(ann, strict)
        if decode is _identity or _is_string_form(ann):
            return decode

        def decode_key(key: str) -> Any:
            try:
                parsed = json.loads(key)
            except ValueError:
                return decode(key)
            try:
                return decode(parsed)
            except _Mismatch:
                return decode(key)

        return decode_key


def _is_string_form(ann: Any) -> bool:
    if isinstance(ann, type):
        if issubclass(ann, enum.Enum):
            return all(isinstance(m.value, str) for m in ann)
        return issubclass(ann, (str, uuid.UUID, date, time, timedelta, Decimal, bytes))
    if get_origin(ann) is Literal:
        return all(isinstance(a, str) for a in get_args(ann))
    return False


def _substitute(hint: Any, bindings: dict[Any, Any]) -> Any:
    """``list[T]`` with ``{T: int}`` -> ``list[int]`` (fields of generic dataclasses)."""
    if not bindings:
        return hint
    if isinstance(hint, typing.TypeVar):
        return bindings.get(hint, hint)
    parameters = getattr(hint, "__parameters__", ())
    if parameters:
        try:
            return hint[tuple(bindings.get(p, p) for p in parameters)]
        except TypeError:
            return hint
    return hint


def _reject_unknown(data: dict[str, Any], known: frozenset[str], name: str) -> None:
    unknown = [k for k in data if k not in known]
    if unknown:
        raise _Mismatch(
            name,
            data,
            f"unknown field {unknown[0]!r}; {name} has {', '.join(sorted(known)) or 'no fields'}",
        )
