"""How a failure becomes an HTTP response: JSON ``{"error": ..., "hint": ...}`` and a status
code that means one thing.

wfkit's own errors are structured, so the mapping is by type, never by message text: an
unknown run or workflow is 404, a repair that does not fit the run's status 409, input that
does not fit the workflow 422, malformed input 400, a payload over a limit 413, a store that
cannot be reached 503.
"""

from __future__ import annotations

from typing import Any

from wfkit.engine.binding import ArgumentError
from wfkit.engine.codec_checks import PayloadTooLarge
from wfkit.errors import (
    InvalidId,
    InvalidRunState,
    RunNotFound,
    SerializationError,
    StoreError,
    UsageError,
    WfkitError,
)


class HttpProblem(Exception):
    """An error the web layer raises itself (bad JSON, unknown workflow, a missing token)."""

    def __init__(
        self,
        status: int,
        message: str,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.headers = headers or {}


# First match wins: subclasses before their bases.
_STATUS_BY_TYPE: tuple[tuple[type[BaseException], int], ...] = (
    (RunNotFound, 404),
    (InvalidRunState, 409),
    (PayloadTooLarge, 413),
    (InvalidId, 400),
    (ArgumentError, 422),
    (SerializationError, 422),
    (StoreError, 503),
    (UsageError, 400),
)


def status_of(error: WfkitError) -> int:
    """The HTTP status for one of wfkit's errors (500 for anything that is not bad input)."""
    for kind, status in _STATUS_BY_TYPE:
        if isinstance(error, kind):
            return status
    return 500


def body_of(message: str, hint: str | None) -> dict[str, Any]:
    return {"error": message, "hint": hint}
