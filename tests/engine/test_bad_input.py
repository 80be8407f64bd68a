"""Bad input at the engine's boundary is a UsageError when it comes in, never a crash later:
the engine's settings, its store, run ids (given or made by a workflow_id template), event
names, and prune's duration. Nothing is stored for a rejected call."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from wfkit import Context, Engine, step, workflow
from wfkit.engine.engine import MIN_LEASE_SECONDS
from wfkit.engine.ids import MAX_ID_LENGTH
from wfkit.engine.store.memory import MemoryStore
from wfkit.errors import InvalidId, RunFailed, UsageError


@step
def double(n: int) -> int:
    return 2 * n


@workflow
def twice(ctx: Context, n: int) -> int:
    return ctx.step(double, n)


@workflow(workflow_id="order-{key}")
def keyed(ctx: Context, key: str) -> str:
    return key


@workflow
def waits(ctx: Context) -> object:
    return ctx.wait_for_event("go", timeout=3600)


@pytest.mark.parametrize("store", [None, 42, object()])
def test_a_store_that_is_neither_a_url_a_path_nor_a_store(store) -> None:
    with pytest.raises(UsageError) as err:
        Engine(store)
    assert "Engine needs a store URL, a path or a Store" in err.value.message


def test_a_path_is_an_sqlite_file(tmp_path: Path) -> None:
    with Engine(tmp_path / "runs.db") as engine:
        assert engine.start(twice, 2, workflow_id="p").result(timeout=5) == 4
    with Engine(f"sqlite:///{tmp_path / 'runs.db'}") as again:
        assert again.get_run("p").status.value == "COMPLETED"


@pytest.mark.parametrize(
    "options, name",
    [
        ({"lease_seconds": -1}, "lease_seconds"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"lease_seconds": MIN_LEASE_SECONDS / 10}, "lease_seconds"),
        ({"lease_seconds": float("nan")}, "lease_seconds"),
        ({"lease_seconds": "30"}, "lease_seconds"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"inline_wait": -1}, "inline_wait"),
        ({"child_poll": float("inf")}, "child_poll"),
        ({"max_recoveries": -1}, "max_recoveries"),
        ({"max_recoveries": 1.5}, "max_recoveries"),
    ],
)
def test_engine_settings_are_checked_when_it_is_made(options, name) -> None:
    with pytest.raises(UsageError) as err:
        Engine(MemoryStore(), **options)
    assert err.value.message.startswith(f"{name} must be")


BAD_IDS = [
    ("a\tb", "U+0009 (tab)"),
    ("line\nbreak", "U+000A (newline)"),
    ("\x1b[31mred", "U+001B (escape)"),
    ("x" * (MAX_ID_LENGTH + 1), "characters long"),
    ("\udcff", "not valid UTF-8"),
    ("", "is empty"),
    ("a\u202eb", "U+202E"),
]


@pytest.mark.parametrize("bad, reason", BAD_IDS)
def test_a_run_id_with_control_characters_or_too_long_is_refused(bad, reason) -> None:
    engine = Engine(MemoryStore())
    with pytest.raises(InvalidId) as err:
        engine.start(twice, 1, workflow_id=bad)
    assert reason in err.value.message and err.value.what == "workflow_id"
    assert "\n" not in err.value.one_line() and "\t" not in err.value.one_line()
    assert engine.list_runs() == []
    for lookup in (engine.get_run, engine.cancel, engine.retry, engine.operations):
        with pytest.raises(InvalidId):
            lookup(bad)


def test_the_longest_id_is_accepted() -> None:
    engine = Engine(MemoryStore())
    longest = "é" * MAX_ID_LENGTH
    assert engine.start(twice, 1, workflow_id=longest).result(timeout=5) == 2


@pytest.mark.parametrize("key", ["a\nb", "k" * MAX_ID_LENGTH])
def test_an_id_made_by_a_workflow_id_template_is_checked_too(key) -> None:
    engine = Engine(MemoryStore())
    with pytest.raises(InvalidId) as err:
        engine.start(keyed, key)
    assert "made by the workflow_id of workflow 'keyed'" in err.value.message
    assert "explicit id" in (err.value.hint or "")
    assert engine.list_runs() == []


@pytest.mark.parametrize("name", ["a\tb", "n" * (MAX_ID_LENGTH + 1), 7])
def test_an_event_name_with_control_characters_is_refused(name) -> None:
    engine = Engine(MemoryStore())
    engine.start(waits, workflow_id="w")
    with pytest.raises(InvalidId):
        engine.send_event("w", name, 1)
    assert engine.store.pending_events("w", str(name)) == []


@workflow
def waits_for(ctx: Context, name: str) -> object:
    return ctx.wait_for_event(name, timeout=3600)


@workflow
def parent_naming(ctx: Context, child_id: str) -> int:
    return ctx.child(twice, 2, workflow_id=child_id)


@pytest.mark.parametrize(
    "flow, what", [(waits_for, "event name"), (parent_naming, "child workflow_id")]
)
@pytest.mark.parametrize("bad", ["a\tb", "n" * (MAX_ID_LENGTH + 1)])
def test_a_name_the_workflow_body_makes_is_checked_before_anything_is_recorded(
    flow, what, bad
) -> None:
    """A body that waits for, or starts a child under, a name no command could type back
    ends the run with the reason, and records no operation under that name."""
    engine = Engine(MemoryStore())
    handle = engine.start(flow, bad, workflow_id="w")
    with pytest.raises(RunFailed):
        handle.result(timeout=5)
    run = engine.get_run("w")
    assert run.status.terminal and f"invalid {what}: " in (run.error or "")
    assert engine.store.operations("w") == []
    assert [r.id for r in engine.list_runs()] == ["w"]


def test_a_workflow_name_with_a_newline_is_refused_when_decorated() -> None:
    from wfkit.errors import DefinitionError

    with pytest.raises(DefinitionError) as err:
        workflow(name="two\nlines")(twice.fn)
    assert "U+000A (newline)" in err.value.message


@pytest.mark.parametrize("older_than", [timedelta(days=10**9 - 1), 10.0**300])
def test_prune_further_back_than_the_year_1_is_a_usage_error(older_than) -> None:
    with pytest.raises(UsageError) as err:
        Engine(MemoryStore()).prune(older_than)
    assert "reaches back before the year 1" in err.value.message
