"""What a run id or an event name may be: non-empty, printable, at most 200 characters.

Ids are shown in one-line-per-run places (`wfkit list`, `wfkit show`, worker logs, error
messages) and typed back by people. A tab, a newline or a terminal escape in an id breaks the
table it is printed in (or rewrites the terminal), an id of a megabyte floods every listing,
and text that is not valid Unicode (undecodable bytes from a shell) cannot even be stored. So
they are refused where they come in: ``Engine.start`` (an explicit id or the one a
``workflow_id`` template makes), run lookups, ``send_event`` and the CLI's arguments.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from wfkit.errors import InvalidId

MAX_ID_LENGTH = 200
_HINT = (
    f"use at most {MAX_ID_LENGTH} printable characters, without tabs, newlines or other "
    "control characters"
)

# Categories that are not shown as themselves: controls (tab, newline, ESC, DEL, C1), format
# characters (zero-width, bidi overrides), surrogates (undecodable bytes), line/paragraph
# separators (``str.splitlines`` breaks on them).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# The fast path: plain printable ASCII is always fine (almost every id).
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def check_id(value: Any, what: str = "run id", *, hint: str | None = None) -> str:
    """Return ``value`` if it is a usable id; raise :class:`InvalidId` naming the problem
    (``what`` names the id in the message, ``hint`` replaces the default fix)."""
    hint = hint or _HINT
    if not isinstance(value, str):
        raise InvalidId(
            what, value, hint=hint, reason=f"is not a string (it is of type {type(value).__name__})"
        )
    if not value.strip():
        raise InvalidId(what, value, hint=hint, reason="is empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidId(
            what,
            value,
            hint=hint,
            reason=f"is {len(value)} characters long (the limit is {MAX_ID_LENGTH})",
        )
    if _PRINTABLE_ASCII.fullmatch(value):
        return value
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise InvalidId(
                what, value, hint=hint, reason="is not valid UTF-8 text (undecodable bytes)"
            )
        if category in _HIDDEN_CATEGORIES:
            raise InvalidId(
                what,
                value,
                hint=hint,
                reason=f"contains the control character U+{ord(char):04X} ({_char_name(char)})",
            )
    return value


def _char_name(char: str) -> str:
    names = {
        "\t": "tab",
        "\n": "newline",
        "\r": "carriage return",
        "\x1b": "escape",
        "\x00": "NUL",
        "\x7f": "delete",
    }
    return names.get(char) or unicodedata.name(char, "a control character").lower()
