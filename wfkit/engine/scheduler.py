"""Firing schedules: which ticks start a run now, under each schedule's policies.

Every worker may look at once, and none holds a lock. What keeps a tick to one run is its run
id (``<schedule>@<tick>``, :func:`~wfkit.engine.schedules.tick_id`): starting a run whose id
exists returns that run. A pass therefore starts its runs *first* and then records how far it
got, over the revision of the schedule's state it read (``Store.save_schedule``). A crash in
between loses nothing: the next pass finds the same ticks due and starts the same ids again,
which creates nothing. A pass that loses the write to another worker's changes nothing either:
the winner started the same runs. The one thing two workers can disagree on is a policy that
depends on the moment (the previous run ending between their looks, a tick at the edge of
``grace``); then a tick the winner skipped may still have been started by the loser — once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from wfkit.engine.schedules import Schedule, due_ticks, next_tick, tick_id
from wfkit.engine.store.base import ScheduleState, Store

__all__ = ["ScheduleInfo", "fire_due", "schedule_infos"]

# start(workflow name, schedule, tick, run id) -> None: creates the run (idempotent on its id).
Starter = Callable[[str, Schedule, datetime, str], None]


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule as `wfkit schedules` shows it."""

    name: str
    workflow: str
    describe: str
    paused: bool
    next_fire: datetime | None  # None: an At that has passed, or a paused schedule
    handled_until: datetime | None
    last_run_id: str | None
    buffered_tick: datetime | None
    in_code: bool  # False: the store has a state for it, the code no longer declares it


def fire_due(
    store: Store,
    schedules: Iterable[tuple[str, str, Schedule]],
    now: datetime,
    start: Starter,
) -> list[str]:
    """One pass over ``schedules`` (name, workflow name, schedule): start what is due at
    ``now`` and record it; return the ids of the runs started (or found started)."""
    states = {state.name: state for state in store.schedule_states()}
    started: list[str] = []
    for name, workflow, schedule in schedules:
        state = states.get(name) or ScheduleState(name, workflow)
        if state.paused:
            continue
        runs, new_state = _plan(store, name, workflow, schedule, state, now)
        for tick in runs:
            run_id = tick_id(name, tick)
            start(workflow, schedule, tick, run_id)
            started.append(run_id)
        if new_state != state:
            store.save_schedule(replace(new_state, updated_at=now))
    return started


def _plan(
    store: Store,
    name: str,
    workflow: str,
    schedule: Schedule,
    state: ScheduleState,
    now: datetime,
) -> tuple[list[datetime], ScheduleState]:
    """The ticks to start now, and the state that records them (nothing is written here)."""
    grace = timedelta(seconds=schedule.grace)
    # A schedule seen for the first time starts counting now: ticks from before it existed
    # (or before this store knew it) are not missed, except one within grace.
    after = state.handled_until if state.handled_until is not None else now - grace
    due = due_ticks(schedule, after, now) if now > after else []
    if schedule.catchup == "last":
        chosen = due[-1:]
    elif schedule.catchup == "skip":
        chosen = [tick for tick in due if tick > now - grace]
    else:
        chosen = due[-schedule.catchup_limit :]
    to_start: list[datetime] = []
    last_run = state.last_run_id
    buffered = state.buffered_tick
    running = last_run is not None and _live(store, last_run)
    if buffered is not None and not running:
        to_start.append(buffered)
        last_run, buffered, running = tick_id(name, buffered), None, True
    for tick in chosen:
        if running and schedule.overlap == "skip":
            continue
        if running and schedule.overlap == "buffer_one":
            buffered = buffered or tick  # one at most: later ticks are dropped
            continue
        to_start.append(tick)
        last_run, running = tick_id(name, tick), True
    new_state = replace(
        state,
        workflow=workflow,
        handled_until=max(now, state.handled_until) if state.handled_until is not None else now,
        buffered_tick=buffered,
        last_run_id=last_run,
    )
    if not due and state.revision != 0 and buffered == state.buffered_tick:
        new_state = replace(new_state, handled_until=state.handled_until)  # nothing to record
    return to_start, new_state


def _live(store: Store, run_id: str) -> bool:
    run = store.get_run(run_id)
    return run is not None and not run.status.terminal


def schedule_infos(
    store: Store, schedules: Iterable[tuple[str, str, Schedule]], now: datetime
) -> list[ScheduleInfo]:
    """Every schedule in the code, then every one the store knows that the code no longer
    declares, by name."""
    states = {state.name: state for state in store.schedule_states()}
    infos = []
    for name, workflow, schedule in schedules:
        state = states.pop(name, None) or ScheduleState(name, workflow)
        after = max(now, state.handled_until) if state.handled_until is not None else now
        infos.append(
            ScheduleInfo(
                name,
                workflow,
                schedule.describe(),
                state.paused,
                None if state.paused else next_tick(schedule, after),
                state.handled_until,
                state.last_run_id,
                state.buffered_tick,
                True,
            )
        )
    for state in states.values():
        infos.append(
            ScheduleInfo(
                state.name,
                state.workflow,
                "(not in the code)",
                state.paused,
                None,
                state.handled_until,
                state.last_run_id,
                state.buffered_tick,
                False,
            )
        )
    return sorted(infos, key=lambda info: info.name)
