"""The codec's two guards: a size limit on what is stored, and the rule that a value must come
back as itself.

**Size.** Every stored payload (a workflow's input, a step's result, an event's payload) is
read again by every replay and every ``wfkit show``; a 50 MB step result makes every later
activation of its run slow and every worker's memory large. So payloads have a limit
(:data:`DEFAULT_MAX_PAYLOAD_BYTES`, ``Engine(max_payload_bytes=...)``): an input over it is a
:class:`PayloadTooLarge` at ``start()`` (nothing stored), a step result over it fails that step
(never retried: the next attempt would return the same value), an event over it is refused at
``send_event``. Large data belongs in a file or an object store; pass its address.

**Round trip.** JSON carries no types: a value is rebuilt from the annotation. Before this rule a
``datetime`` returned from a ``-> str`` step silently became its ISO string, ``bytes`` from an
unannotated step a base64 string, while an ``int`` from a ``-> str`` step was refused. The one
rule now: *a returned value must decode back as itself* — the same type (an ``int`` where a
``float`` is annotated is the one widening allowed) and an equal value, all the way down.
Anything else is a :class:`RoundTripError` naming where the value changed and the fix
(annotate the real type, or return the annotated one), on the first run rather than as a
surprise in the workflow.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from wfkit.errors import SerializationError

DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""4 MiB: far above what a workflow should carry, far below what hurts a replay."""


class PayloadTooLarge(SerializationError):
    """A value's JSON is larger than the engine's payload limit."""

    def __init__(self, *, where: str, size: int, limit: int) -> None:
        super().__init__(
            f"{where} is {size_text(size)}, over the payload limit of {size_text(limit)}",
            where=where,
            type_name=None,
            hint="store large data elsewhere and pass a reference, or raise the limit: "
            "--max-payload or WFKIT_MAX_PAYLOAD, Engine(max_payload_bytes=...)",
        )
        self.size = size
        self.limit = limit


class RoundTripError(SerializationError):
    """A returned value would reach the workflow as something else than what was returned."""

    def __init__(
        self, *, where: str, path: str, returned: str, comes_back: str, annotation: str
    ) -> None:
        at = f" at {path}" if path else ""
        super().__init__(
            f"{where}{at} is {returned}, but the annotation {annotation} gives it back as "
            f"{comes_back}",
            where=where,
            type_name=returned,
            hint=f"annotate the type it returns (-> {returned})"
            if annotation == "Any"
            else f"return {annotation}, or annotate the type it returns",
        )
        self.path = path
        self.returned = returned
        self.comes_back = comes_back


def check_size(text: str, limit: int | None, where: str) -> None:
    """Raise :class:`PayloadTooLarge` when ``text`` (ASCII JSON: one byte a character) is over
    ``limit``; ``None`` means no limit."""
    if limit is not None and len(text) > limit:
        raise PayloadTooLarge(where=where, size=len(text), limit=limit)


def size_text(size: int) -> str:
    """Bytes for people: ``512 B``, ``3.2 KiB``, ``10.0 MiB``."""
    if size < 1024:
        return f"{size} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024  # type: ignore[assignment]
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def difference(value: Any, back: Any, path: str = "") -> tuple[str, type, type] | None:
    """Where ``back`` (``value`` after encoding and decoding) stops being ``value``: the path
    and both types; None when it came back as itself."""
    if value is back:
        return None
    kind, back_kind = type(value), type(back)
    if kind is not back_kind:
        if kind is int and back_kind is float and value == back:
            return None  # an int where a float is annotated: the one widening allowed
        return path, kind, back_kind
    if kind is list or kind is tuple:
        if len(value) != len(back):
            return path, kind, back_kind
        for index, (item, item_back) in enumerate(zip(value, back)):
            found = difference(item, item_back, f"{path}[{index}]")
            if found:
                return found
        return None
    if kind is dict:
        if list(value) != list(back):  # keys changed (an int key came back as a string)
            return path, kind, back_kind
        for key, item in value.items():
            found = difference(item, back[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            found = difference(
                getattr(value, field.name), getattr(back, field.name), f"{path}.{field.name}"
            )
            if found:
                return found
        return None
    return None if value == back else (path, kind, back_kind)
