"""What an activation needs from its surroundings, injected rather than reached for.

The engine builds one :class:`Runtime` for production (SQLite or PostgreSQL store, system
clock); the test harness builds another (memory store, virtual clock, an interceptor that mocks
steps and injects crashes). The core code is the same for both.
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from wfkit.engine.clock import Clock
from wfkit.engine.codec import JsonCodec
from wfkit.engine.core.spec import StepSpec
from wfkit.engine.core.store_faults import StoreHealth
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.progress import Observer
from wfkit.engine.status import OpKind
from wfkit.engine.store.base import Store


class Interceptor(Protocol):
    """Seams for the test harness: see operations start, wrap attempts, see checkpoints."""

    def starting(self, kind: OpKind, seq: int, name: str) -> None:
        """An operation is about to execute (not replay): a crash point."""

    def invoke(
        self,
        kind: OpKind,
        seq: int,
        attempt: int,
        spec: StepSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call: Callable[[], Any],
    ) -> Any:
        """Run one attempt; ``call()`` runs the real function (a mock may not call it)."""

    def checkpointed(self, kind: OpKind, seq: int, name: str) -> None:
        """Called right after the operation's result was committed."""

    # Optional: ``body_raised(run_id, exc)``, called when the workflow body raised ``exc``
    # (a step's rebuilt failure or the body's own error) and the run is about to be undone.


class Leases(Protocol):
    """What a running activation may ask about its run's lease (the engine's heartbeat)."""

    def lost(self, run_id: str) -> bool:
        """Whether this process's lease on the run is (or may be) gone; once True, stays so."""

    def given_up(self, run_id: str) -> bool:
        """Whether ``lost`` has said True: the activation must write nothing more."""


@dataclass
class Runtime:
    store: Store
    clock: Clock
    owner: str
    workflows: MutableMapping[str, WorkflowDef[Any]]  # the engine's registry: a child
    # workflow started by a parent becomes runnable here too
    codec: JsonCodec = field(default_factory=JsonCodec)
    rng: random.Random = field(default_factory=random.Random)  # retry jitter only
    lease_seconds: float = 30.0
    inline_wait: float = 5.0  # retry delays up to this are waited in the worker
    max_recoveries: int = 5  # crashed activations before a run is FAILED
    child_poll: float = 300.0  # a parent re-checks a child at least this often (seconds)
    interceptor: Interceptor | None = None
    observer: Observer | None = None  # progress events (wfkit.engine.progress); None: not built
    health: StoreHealth = field(default_factory=StoreHealth)  # outages, for a worker's log
    leases: Leases | None = None  # None (the harness): no leases, so none is ever lost
