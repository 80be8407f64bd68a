"""A history document is checked whole before it is replayed, for every reader of exported
histories: ``History.from_json`` (so ``wfkit.testing.replay`` and the CLI) refuses a log with
lines missing, out of order or mis-numbered, or one that contradicts its run's status."""

from __future__ import annotations

import json

import pytest

from wfkit import Context, step, workflow
from wfkit.engine.history import History
from wfkit.errors import DamagedHistory
from wfkit.testing import TestWorkflowContext, replay


@step
def one(n: int) -> int:
    return n + 1


@workflow(name="checks-three")
def three(ctx: Context, n: int) -> int:
    return ctx.step(one, ctx.step(one, ctx.step(one, n)))


@pytest.fixture
def doc() -> dict:
    ctx = TestWorkflowContext()
    ctx.run(three, 1)
    return json.loads(ctx.history.to_json())


def renumbered(doc: dict) -> dict:
    for index, line in enumerate(doc["events"]):
        line["index"] = index
    return doc


def test_a_whole_history_replays(doc) -> None:
    assert replay(History.from_json(json.dumps(doc)), three).reached_end


def test_a_middle_operation_deleted_and_renumbered_is_a_gap(doc) -> None:
    doc["events"] = [e for e in doc["events"] if e.get("seq") != 2]
    with pytest.raises(DamagedHistory) as err:
        History.from_json(json.dumps(renumbered(doc)), source="h.json")
    assert err.value.source == "h.json"
    assert (
        err.value.problem == "the run is COMPLETED but its log has no operation #2 "
        "(the next one is #3)"
    )


def test_an_operation_line_after_the_run_ended(doc) -> None:
    ending = doc["events"].pop()
    doc["events"].insert(2, ending)
    with pytest.raises(DamagedHistory) as err:
        History.from_json(json.dumps(renumbered(doc)))
    assert "comes after run_completed" in err.value.problem


def test_an_unfinished_operation_in_a_completed_run(doc) -> None:
    last_step = [e for e in doc["events"] if e.get("seq") == 3][-1]
    last_step["data"]["status"] = "STARTED"
    with pytest.raises(DamagedHistory) as err:
        History.from_json(json.dumps(doc))
    assert err.value.problem == "the run is COMPLETED but operation #3 (step 'one') is STARTED"


@pytest.mark.parametrize("bad", [True, "2", None])
def test_an_index_that_is_not_an_integer(doc, bad) -> None:
    doc["events"][1]["index"] = bad
    with pytest.raises(DamagedHistory) as err:
        History.from_json(json.dumps(doc))
    assert "not an integer" in err.value.problem


def test_an_in_flight_history_may_stop_anywhere(doc) -> None:
    doc["events"] = doc["events"][:2]
    doc["run"].update(status="RUNNING", has_result=False, result=None, finished_at=None)
    outcome = replay(History.from_json(json.dumps(doc)), three)
    assert not outcome.reached_end and outcome.operations_replayed == 1
