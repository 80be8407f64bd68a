"""What an SQLite failure means to the user: one :class:`StoreError` with the fix.

sqlite3 raises a handful of exception classes for many causes; a locked file, a closed store,
a file that is not a database, a damaged one, a full disk and a missing permission each need
a different fix, so each is told apart (by SQLite's result code where Python exposes it, by
its message otherwise) and named with the file it happened on.
"""

from __future__ import annotations

import sqlite3

from wfkit.errors import StoreError

# SQLite's primary result codes (https://sqlite.org/rescode.html), to tell failures apart.
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_FULL = 3, 8, 11, 13
_SQLITE_CANTOPEN, _SQLITE_AUTH, _SQLITE_NOTADB = 14, 23, 26


def store_error(exc: sqlite3.Error, where: str, timeout: float) -> StoreError:
    """The error to raise for ``exc`` on the database ``where`` (its path, or "the in-memory
    database"), opened with a lock ``timeout`` of that many seconds."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database is locked by another process: {where} (waited {timeout:g}s)",
            hint="retry, or raise ?timeout=SECONDS in the store URL",
        )
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in text:
        return StoreError(f"the store on {where} is closed", hint="open a new store")
    code = _primary_code(exc)
    if code == _SQLITE_NOTADB or "not a database" in text:
        return StoreError(
            f"{where} is not an SQLite database (not a wfkit store)",
            hint="point the store URL at a wfkit database or at a new file",
        )
    if code == _SQLITE_CORRUPT or "malformed" in text:
        return StoreError(
            f"{where} is a damaged database ({text})",
            hint="restore it from a backup; `sqlite3 FILE .recover` may save what is left",
        )
    if code == _SQLITE_FULL or "disk is full" in text:
        return StoreError(
            f"disk full: cannot write to {where} ({text})",
            hint="free space on its disk, then retry; nothing was half-written",
        )
    if code in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_AUTH):
        return StoreError(
            f"cannot write or open {where}: {text}",
            hint="check that the file and its directory exist and that this user may write to them",
        )
    return StoreError(
        f"SQLite error on {where}: {text}",
        hint="check the file, its directory and the disk",
    )


def _primary_code(exc: sqlite3.Error) -> int | None:
    """The error's primary result code (Python 3.11+ exposes it; before, None)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None
