"""The SQLite store's URL: which file, and the options that say how it is written.

``sqlite:///rel.db``, ``sqlite:////abs.db`` or ``sqlite:///:memory:``, with the options
``synchronous`` (FULL, the durable default, or NORMAL), ``timeout`` (seconds a write waits for
another process's lock) and ``group_commit`` (on, the default, or off: see
:mod:`group_commit`). A bad URL is a :class:`StoreError` naming the accepted forms, raised
before anything opens the file.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

from wfkit.errors import StoreError

_SYNCHRONOUS = ("FULL", "NORMAL")
_DEFAULT_TIMEOUT = 5.0


def parse_url(url: str) -> tuple[str, str, float, bool]:
    """``sqlite:///rel.db``, ``sqlite:////abs.db``, ``sqlite:///:memory:`` -> (path,
    synchronous, timeout, group commit); anything else is a StoreError naming the accepted
    forms."""
    prefix = "sqlite://"
    if not url.startswith(prefix) or not url[len(prefix) :].startswith("/"):
        raise StoreError(
            f"invalid SQLite store URL {url!r}",
            hint="use sqlite:///relative/path.db or sqlite:////absolute/path.db",
        )
    location, _, query = url[len(prefix) + 1 :].partition("?")
    if not location:
        raise StoreError(f"SQLite store URL {url!r} names no file", hint="use sqlite:///wfkit.db")
    synchronous, timeout, grouped = "FULL", _DEFAULT_TIMEOUT, True
    try:
        options = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise StoreError(
            f"malformed options in store URL {url!r}",
            hint="use ?synchronous=FULL|NORMAL&timeout=SECONDS",
        ) from exc
    for key, value in options:
        if key == "synchronous" and value.upper() in _SYNCHRONOUS:
            synchronous = value.upper()
        elif key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                timeout = -1.0
            if not timeout >= 0:
                raise StoreError(
                    f"invalid timeout {value!r} in store URL {url!r}",
                    hint="use ?timeout=SECONDS, a number >= 0",
                )
        elif key == "synchronous":
            raise StoreError(
                f"invalid synchronous={value!r} in store URL {url!r}",
                hint="use ?synchronous=FULL (durable, default) or NORMAL (faster)",
            )
        elif key == "group_commit" and value.lower() in ("on", "off"):
            grouped = value.lower() == "on"
        elif key == "group_commit":
            raise StoreError(
                f"invalid group_commit={value!r} in store URL {url!r}",
                hint="use ?group_commit=on (default) or off",
            )
        else:
            raise StoreError(
                f"unknown option {key!r} in store URL {url!r}",
                hint="supported options: synchronous=FULL|NORMAL, timeout=SECONDS, "
                "group_commit=on|off",
            )
    path = location if location == ":memory:" else os.path.abspath(location)
    return path, synchronous, timeout, grouped
