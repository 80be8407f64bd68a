"""``--max-payload SIZE`` (env ``WFKIT_MAX_PAYLOAD``): the engine's payload limit, for the
commands that store payloads (``run``, ``worker``, ``send-event``, ``skip-step``). Sizes read like people write them:
``4MiB``, ``10MB``, ``512KB``, ``1000000``. Left out, the engine's default applies
(:data:`wfkit.engine.codec_checks.DEFAULT_MAX_PAYLOAD_BYTES`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """Bytes from ``4MiB`` / ``10MB`` / ``512KB`` / ``1000000``; None when it is not a size."""
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2).lower() not in _UNITS:
        return None
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return size if size >= 1 else None


class SizeType(click.ParamType):
    """A size option's type: `4MiB`, `10MB`, `512KB` or a number of bytes."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        size = parse_size(str(value))
        if size is None:
            self.fail(
                f"{value!r} is not a size (use e.g. 4MiB, 10MB, 512KB or a number of bytes)",
                param,
                ctx,
            )
        return size


def max_payload_option(fn: F) -> F:
    return click.option(
        "--max-payload",
        "max_payload",
        type=SizeType(),
        envvar="WFKIT_MAX_PAYLOAD",
        default=None,
        metavar="SIZE",
        help="Largest input, step result or event payload stored, e.g. 10MiB "
        "(env WFKIT_MAX_PAYLOAD; default 4MiB).",
    )(fn)


def engine_limit(max_payload: int | None) -> dict[str, Any]:
    """The Engine keyword for the option: nothing when it was not given (the default)."""
    return {} if max_payload is None else {"max_payload_bytes": max_payload}
