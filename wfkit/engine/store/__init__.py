"""Persistence behind the engine: a narrow :class:`Store` protocol and its backends.

``open_store(url)`` picks the backend from the URL scheme:

- ``sqlite:///path/to/file.db`` (or ``sqlite:///:memory:``): embedded, the default;
- ``postgresql://user:pass@host/db``: many workers on many machines (``pip install wfkit[postgres]``);
- ``memory://``: in-process, for tests.
"""

from __future__ import annotations

from wfkit.engine.store.base import (
    Checkpoint,
    EventRecord,
    HistoryEntry,
    LeaseLost,
    OperationRecord,
    RunRecord,
    Store,
)
from wfkit.errors import StoreError

DEFAULT_STORE_URL = "sqlite:///wfkit.db"

__all__ = [
    "DEFAULT_STORE_URL",
    "Checkpoint",
    "EventRecord",
    "HistoryEntry",
    "LeaseLost",
    "OperationRecord",
    "RunRecord",
    "Store",
    "display_url",
    "open_store",
]


def display_url(url: str) -> str:
    """The store URL as it is safe to print or log: any password shown as ``***``."""
    from urllib.parse import urlsplit

    from wfkit.engine.store.postgres_schema import mask_password

    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query:
        return url  # (re-joining would also turn sqlite:/// into sqlite:/)
    return mask_password(url)


def open_store(url: str, *, access: str = "create") -> Store:
    """The store a URL names. ``access`` says what opening may do to it: ``create`` (make or
    upgrade it: running workflows), ``existing`` (upgrade, never make: repairing runs) or
    ``read`` (change nothing: listing, showing, exporting); a store that is not there is a
    :class:`~wfkit.errors.NoStore` error for the last two."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise StoreError(
            f"store URL {url!r} has no scheme",
            hint="use sqlite:///path/to/wfkit.db or postgresql://host/db",
        )
    if scheme == "sqlite":
        from wfkit.engine.store.sqlite import SqliteStore

        return SqliteStore(url, access=access)
    if scheme in ("postgresql", "postgres"):
        # (the import says how to install a missing driver)
        from wfkit.engine.store.postgres import PostgresStore

        return PostgresStore(url, access=access)
    if scheme == "memory":
        from wfkit.engine.store.memory import MemoryStore

        return MemoryStore(url, access=access)
    raise StoreError(
        f"unknown store URL scheme {scheme!r} in {url!r}",
        hint="use sqlite:///path/to/wfkit.db or postgresql://host/db",
    )
