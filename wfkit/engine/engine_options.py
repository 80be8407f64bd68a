"""The engine's own settings (lease, waits, polls, recoveries, payload size, the store it is
given) and their bounds, apart from :mod:`wfkit.engine.engine` so the engine module keeps to
running runs."""

from __future__ import annotations

import math
import os
from typing import Any, cast

from wfkit.engine.store import open_store
from wfkit.engine.store.base import Store
from wfkit.errors import UsageError

# The shortest lease an engine takes: the heartbeat renews it every third of its length (at most
# every 50 ms), and a renewal is a store write that may wait for another process's lock, so a
# shorter lease would be lost between renewals and every run would keep changing hands.
MIN_LEASE_SECONDS = 1.0


def check_engine_options(
    *,
    lease_seconds: Any,
    inline_wait: Any,
    max_recoveries: Any,
    poll_interval: Any,
    child_poll: Any,
    max_payload_bytes: Any = None,
) -> None:
    """Engine settings are checked when the engine is made: a negative lease used to be
    accepted and fail later as a lost lease in the middle of a run."""

    def seconds(name: str, value: Any, low: float, *, inclusive: bool, why: str = "") -> None:
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value >= low if inclusive else value > low)
        )
        if not ok:
            bound = f"at least {low:g}" if inclusive else f"more than {low:g}"
            raise UsageError(
                f"{name} must be {bound} second{'' if low == 1 else 's'}{why}, got {value!r}",
                hint=f"pass e.g. {name}={_DEFAULTS[name]}",
            )

    seconds(
        "lease_seconds",
        lease_seconds,
        MIN_LEASE_SECONDS,
        inclusive=True,
        why=" (the heartbeat renews a lease every third of it)",
    )
    seconds("inline_wait", inline_wait, 0, inclusive=True)
    seconds("poll_interval", poll_interval, 0, inclusive=False)
    seconds("child_poll", child_poll, 0, inclusive=False)
    if (
        not isinstance(max_recoveries, int)
        or isinstance(max_recoveries, bool)
        or max_recoveries < 0
    ):
        raise UsageError(
            f"max_recoveries must be a whole number >= 0, got {max_recoveries!r}",
            hint="pass e.g. max_recoveries=5",
        )
    if max_payload_bytes is not None and (
        isinstance(max_payload_bytes, bool)
        or not isinstance(max_payload_bytes, int)
        or max_payload_bytes < 1
    ):
        raise UsageError(
            f"max_payload_bytes must be a positive int or None, got {max_payload_bytes!r}",
            hint="e.g. 4 * 1024 * 1024 (4 MiB)",
        )


def open_engine_store(store: Any) -> Store:
    """A store URL, a path (an SQLite file) or a store object; anything else is a UsageError
    now rather than an AttributeError at the first run."""
    if isinstance(store, str):
        return open_store(store)
    if isinstance(store, os.PathLike):
        path = os.path.abspath(os.fspath(store))
        if "?" in path:  # the URL would read the rest as options
            raise UsageError(
                f"cannot use {path!r} as an SQLite store: '?' in a path",
                hint="rename the file, or pass a sqlite:/// URL",
            )
        return open_store(f"sqlite:///{path}")
    if all(callable(getattr(store, name, None)) for name in ("commit", "claim", "get_run")):
        return cast(Store, store)
    raise UsageError(
        f"Engine needs a store URL, a path or a Store, got {store!r}",
        hint='e.g. Engine("sqlite:///wfkit.db") or Engine("postgresql://host/db")',
    )


_DEFAULTS = {"lease_seconds": 30, "inline_wait": 5, "poll_interval": 0.05, "child_poll": 300}


_DEFAULTS = {"lease_seconds": 30, "inline_wait": 5, "poll_interval": 0.05, "child_poll": 300}
