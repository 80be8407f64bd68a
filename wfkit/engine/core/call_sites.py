"""Where in the workflow's code a durable call was made (``file:line``), for the operation's
record and for a NonDeterminismError: the first frame outside wfkit, asyncio, threading and
concurrent.futures.
"""

from __future__ import annotations

import functools
import sys


def caller_source() -> str | None:
    """``file:line`` of the workflow code that made the current durable call."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_wfkit_file(filename):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


@functools.lru_cache(maxsize=1024)
def _is_wfkit_file(filename: str) -> bool:
    return (
        _WFKIT_DIR in filename
        or filename.startswith("<frozen")
        or "/asyncio/" in filename
        or "concurrent/futures" in filename
        or filename.endswith("threading.py")
    )


_WFKIT_DIR = __file__.rsplit("/engine/core/", 1)[0] + "/"
