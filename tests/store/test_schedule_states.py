"""The store's half of schedules: each schedule's state, written only over the revision read.

Exactly-once ticks rest on run ids (a tick's run id is the same on every worker); what these
tests pin is the rest: a scheduler that read an old state cannot overwrite a newer one, and a
pause made by a person is never lost to a scheduler writing at the same moment.
"""

from __future__ import annotations

from dataclasses import replace

from store_records import at

from wfkit.engine.store.base import ScheduleState, Store


def test_a_new_state_is_saved_once_and_read_back(store: Store) -> None:
    assert store.schedule_states() == []
    state = ScheduleState("nightly", "report", handled_until=at(60), last_run_id="nightly@x")
    assert store.save_schedule(replace(state, updated_at=at(61)))
    # A second scheduler that also saw no state loses: the row exists now.
    assert not store.save_schedule(replace(state, handled_until=at(120)))
    (saved,) = store.schedule_states()
    assert (saved.name, saved.workflow, saved.revision) == ("nightly", "report", 1)
    assert (saved.handled_until, saved.last_run_id, saved.updated_at) == (
        at(60),
        "nightly@x",
        at(61),
    )
    assert saved.buffered_tick is None and saved.paused is False


def test_a_write_over_a_stale_revision_changes_nothing(store: Store) -> None:
    assert store.save_schedule(ScheduleState("s", "w", handled_until=at(0)))
    (first,) = store.schedule_states()
    assert store.save_schedule(replace(first, handled_until=at(60), buffered_tick=at(120)))
    assert not store.save_schedule(replace(first, handled_until=at(999)))  # read revision 1, now 2
    (now,) = store.schedule_states()
    assert (now.revision, now.handled_until, now.buffered_tick) == (2, at(60), at(120))
    assert store.save_schedule(replace(now, buffered_tick=None))
    assert store.schedule_states()[0].buffered_tick is None


def test_pausing_wins_over_a_scheduler_that_read_before_it(store: Store) -> None:
    assert store.save_schedule(ScheduleState("s", "w", handled_until=at(0)))
    (read,) = store.schedule_states()
    store.set_schedule_paused("s", "w", True, at(5))
    assert not store.save_schedule(replace(read, handled_until=at(60)))
    (paused,) = store.schedule_states()
    assert paused.paused and paused.handled_until == at(0) and paused.updated_at == at(5)
    store.set_schedule_paused("s", "w", False, at(6))
    assert store.schedule_states()[0].paused is False


def test_pausing_a_schedule_with_no_state_yet_creates_it(store: Store) -> None:
    store.set_schedule_paused("later", "w", True, at(1))
    (state,) = store.schedule_states()
    assert (state.name, state.workflow, state.paused, state.revision) == ("later", "w", True, 1)
    assert state.handled_until is None
    assert [
        s.name
        for s in (store.save_schedule(replace(state, paused=False)) and store.schedule_states())
    ] == ["later"]


def test_states_are_listed_by_name(store: Store) -> None:
    for name in ("b", "a", "c"):
        assert store.save_schedule(ScheduleState(name, "w"))
    assert [s.name for s in store.schedule_states()] == ["a", "b", "c"]
