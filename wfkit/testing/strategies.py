"""Hypothesis strategies behind ``verify``, for custom properties.

Every strategy shrinks toward "nothing goes wrong": fewer failures, fewer crashes, no
downtime, events arriving early. So a failing plan reported by ``verify`` is the smallest one
Hypothesis could find.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE
from wfkit.testing.plan import CRASH_POINTS, Arrival, Crash, Failure, Plan

# Seconds to days: a restart, a deploy, a long outage, past most timeouts.
DOWNTIMES: tuple[float, ...] = (0.0, 1.0, 60.0, 3600.0, 86400.0, 8 * 86400.0)
# When an event arrives after the run starts: at once, soon, late, very late.
ARRIVALS: tuple[float, ...] = (0.0, 1.0, 3600.0, 86400.0, 3 * 86400.0, 8 * 86400.0, 31 * 86400.0)


def operation_numbers(max_seq: int, compensations: int = 0) -> st.SearchStrategy[int]:
    """The workflow body's operations 1..max_seq, and the numbers of the first
    ``compensations`` compensations (numbered apart from the body: see
    wfkit.engine.core.numbering)."""
    numbers = st.integers(1, max(max_seq, 1))
    if compensations > 0:
        numbers = numbers | st.integers(
            COMPENSATION_SEQ_BASE + 1, COMPENSATION_SEQ_BASE + compensations
        )
    return numbers


def failures(
    max_seq: int, *, max_failures: int = 3, compensations: int = 0
) -> st.SearchStrategy[tuple[Failure, ...]]:
    """Some operations fail: transiently (1–3 attempts) or for good (None: every attempt)."""
    one = st.builds(
        Failure,
        seq=operation_numbers(max_seq, compensations),
        times=st.one_of(st.integers(1, 3), st.none()),
    )
    return st.lists(one, max_size=max_failures, unique_by=lambda f: f.seq).map(tuple)


def crashes(
    max_seq: int, *, max_crashes: int = 2, compensations: int = 0
) -> st.SearchStrategy[tuple[Crash, ...]]:
    """The process dies at some operations (before, after the effect, after the checkpoint)."""
    one = st.builds(
        Crash,
        seq=operation_numbers(max_seq, compensations),
        point=st.sampled_from(CRASH_POINTS),
        downtime=st.sampled_from(DOWNTIMES),
    )
    return st.lists(one, max_size=max_crashes, unique_by=lambda c: (c.seq, c.point)).map(tuple)


def arrivals(events: Mapping[str, Sequence[Any]] | None) -> st.SearchStrategy[tuple[Arrival, ...]]:
    """For each event name: it never comes, or one of its payloads arrives at some time."""
    if not events:
        return st.just(())
    per_name = []
    for name in sorted(events):
        payloads = list(events[name])
        if not payloads:
            continue
        per_name.append(
            st.one_of(
                st.none(),
                st.builds(
                    Arrival,
                    name=st.just(name),
                    payload=st.sampled_from(payloads),
                    after=st.sampled_from(ARRIVALS),
                ),
            )
        )
    return st.tuples(*per_name).map(lambda items: tuple(i for i in items if i is not None))


def plans(
    max_seq: int,
    *,
    events: Mapping[str, Sequence[Any]] | None = None,
    max_failures: int = 3,
    max_crashes: int = 2,
    compensations: int = 0,
) -> st.SearchStrategy[Plan]:
    """Whole fault plans over operations 1..max_seq and the first ``compensations``
    compensations."""
    return st.builds(
        Plan,
        failures=failures(max_seq, max_failures=max_failures, compensations=compensations),
        crashes=crashes(max_seq, max_crashes=max_crashes, compensations=compensations),
        events=arrivals(events),
    )
