"""``Ledger``: a fake of the outside world's books, kept outside the engine store.

Steps and compensations run at least once: a crash between an effect and its checkpoint runs the
effect again after recovery. Whether that is harmless depends on the external service, which the
engine's store cannot see. A test gives its fake services a ledger; they ``record`` every effect
with the idempotency key they were called with, and the test asserts on the ledger ("the refund
was issued once"), the way one would reconcile against the payment provider's books. The ledger
lives on across ``resume()`` and across Hypothesis examples, like the real world; reset it in
``verify(setup=...)``.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded effect (or one rejected duplicate of it)."""

    kind: str
    key: Hashable | None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0  # position in the order of all record() calls, from 1


class Ledger:
    """External effects by kind, deduplicated by idempotency key like a real provider would."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # wf_engine runs steps in worker threads
        self._entries: list[LedgerEntry] = []
        self._duplicates: list[LedgerEntry] = []
        self._keys: set[tuple[str, Hashable]] = set()
        self._seq = 0

    def record(self, kind: str, key: Hashable | None = None, **data: Any) -> bool:
        """Record an effect; return False (and keep it as a duplicate) when ``(kind, key)`` was
        already recorded. ``key=None`` means the caller sent no idempotency key: every call
        counts, which is exactly the bug a crash window exposes."""
        with self._lock:
            self._seq += 1
            entry = LedgerEntry(kind, key, dict(data), self._seq)
            if key is not None:
                if (kind, key) in self._keys:
                    self._duplicates.append(entry)
                    return False
                self._keys.add((kind, key))
            self._entries.append(entry)
            return True

    def entries(self, kind: str | None = None) -> list[LedgerEntry]:
        """The accepted effects (of ``kind``, or all), in the order they were recorded."""
        with self._lock:
            return [e for e in self._entries if kind is None or e.kind == kind]

    def count(self, kind: str | None = None) -> int:
        """How many effects (of ``kind``, or all) took place; duplicates do not count."""
        return len(self.entries(kind))

    def duplicates(self, kind: str | None = None) -> list[LedgerEntry]:
        """The calls rejected because their idempotency key was already recorded: each one is a
        retry or a re-execution that the key made harmless."""
        with self._lock:
            return [e for e in self._duplicates if kind is None or e.kind == kind]

    def assert_once(self, kind: str, key: Hashable | None = None) -> LedgerEntry:
        """Assert the effect took place exactly once and return it.

        With ``key``: exactly one accepted ``(kind, key)`` entry (rejected duplicates are fine:
        that is idempotency working). Without: exactly one ``kind`` entry of any key, which is
        what catches an effect re-run without an idempotency key.
        """
        matching = [e for e in self.entries(kind) if key is None or e.key == key]
        if len(matching) != 1:
            what = f"{kind!r}" + (f" with key {key!r}" if key is not None else "")
            listing = "".join(f"\n  #{e.seq} key={e.key!r} {e.data}" for e in matching)
            raise AssertionError(
                f"expected {what} to be recorded once, found {len(matching)}{listing}"
            )
        return matching[0]

    def reset(self) -> None:
        """Forget everything (call it in ``verify(setup=...)``: one fresh world per plan)."""
        with self._lock:
            self._entries.clear()
            self._duplicates.clear()
            self._keys.clear()
            self._seq = 0

    def __repr__(self) -> str:
        kinds = sorted({e.kind for e in self._entries})
        counts = ", ".join(f"{k}={self.count(k)}" for k in kinds)
        return f"<Ledger {counts or 'empty'}; {len(self._duplicates)} duplicates>"
