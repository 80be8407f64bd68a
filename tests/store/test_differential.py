"""Every backend behaves exactly like the reference MemoryStore, on random call sequences.

The contract tests pin down each documented rule; this property catches what they did not
think of (ties in time, leases expiring at the very instant, events of other runs, ...):
Hypothesis drives the same calls into a MemoryStore and into the backend under test and
compares every answer, every raised exception and the whole observable state after each call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_records import at, entry, op, run

from wfkit.engine.status import OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, LeaseLost, Store
from wfkit.engine.store.memory import MemoryStore

IDS = ["a", "b", "c"]
OWNERS = ["w1", "w2"]
EVENTS = ["approval", "cancel"]
WORKFLOWS = ["orders", "etl"]

times = st.integers(0, 12).map(at)
maybe_times = st.none() | times
statuses = st.sampled_from(sorted(RunStatus, key=str))

create = st.builds(
    lambda run_id, created, status, wake, workflow: (
        "create_run",
        (
            run(run_id, created=created, status=status, wake_at=wake, workflow=workflow),
            [entry("run_started", run_id)],
        ),
        {},
    ),
    st.sampled_from(IDS),
    st.integers(0, 6),
    statuses,
    maybe_times,
    st.sampled_from(WORKFLOWS),
)

claim = st.builds(
    lambda owner, now, lease, limit, run_id, workflows: (
        "claim",
        (owner, at(now), at(now + lease)),
        {"limit": limit, "run_id": run_id, "workflows": workflows},
    ),
    st.sampled_from(OWNERS),
    st.integers(0, 12),
    st.integers(0, 4),
    st.integers(0, 3),
    st.none() | st.sampled_from(IDS),
    st.none() | st.lists(st.sampled_from(WORKFLOWS), max_size=2),
)

checkpoints = st.builds(
    lambda status, wake, seqs, n_history, release, discard, wake_on, consume: Checkpoint(
        run={k: v for k, v in (("status", status), ("wake_at", wake)) if v is not None},
        operations=[
            op(seq, status=OpStatus.COMPLETED if seq % 2 else OpStatus.STARTED) for seq in seqs
        ],
        history=[entry(f"h{i}") for i in range(n_history)],
        release_lease=release,
        discard_operations=discard,
        wake_on_events=wake_on,
        consume_event=consume,
    ),
    st.none() | statuses,
    maybe_times,
    st.lists(st.integers(0, 3), max_size=3, unique=True),
    st.integers(0, 2),
    st.booleans(),
    st.lists(st.integers(0, 3), max_size=2),
    st.lists(st.sampled_from(EVENTS), max_size=2),
    st.none() | st.tuples(st.integers(1, 4), st.integers(0, 3)),
)

commit = st.builds(
    lambda run_id, checkpoint, owner, now: (
        "commit",
        (run_id, checkpoint),
        {"lease_owner": owner, "now": now},
    ),
    st.sampled_from(IDS + ["missing"]),
    checkpoints,
    st.none() | st.sampled_from(OWNERS),
    maybe_times,
)

add_event = st.builds(
    lambda run_id, name, when: ("add_event", (run_id, name, f'"{name}@{when}"', at(when)), {}),
    st.sampled_from(IDS),
    st.sampled_from(EVENTS),
    st.integers(0, 12),
)

heartbeat = st.builds(
    lambda owner, run_ids, until, now: ("heartbeat", (owner, run_ids, at(until), at(now)), {}),
    st.sampled_from(OWNERS),
    st.lists(st.sampled_from(IDS), max_size=3, unique=True),
    st.integers(0, 16),
    st.integers(0, 12),
)

release = st.builds(
    lambda owner, run_id: ("release", (owner, run_id), {}),
    st.sampled_from(OWNERS),
    st.sampled_from(IDS),
)

calls = st.lists(
    st.one_of(create, claim, commit, add_event, heartbeat, release), min_size=1, max_size=25
)


def outcome(store: Store, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return "ok", getattr(store, name)(*args, **kwargs)
    except (LeaseLost, KeyError) as exc:
        return "raised", type(exc).__name__


def state(store: Store) -> Any:
    return (
        store.list_runs(),
        store.next_wake(),
        {
            run_id: (
                store.operations(run_id),
                store.history(run_id),
                {name: store.pending_events(run_id, name) for name in EVENTS},
            )
            for run_id in IDS
        },
    )


@given(sequence=calls)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_a_backend_answers_like_the_reference(
    backend_factory: Callable[[], Store], sequence: list[Any]
) -> None:
    backend = backend_factory()
    reference = MemoryStore()
    for name, args, kwargs in sequence:
        assert outcome(backend, name, args, kwargs) == outcome(reference, name, args, kwargs), (
            f"{name}{args} {kwargs}"
        )
        assert state(backend) == state(reference), f"state after {name}{args} {kwargs}"
