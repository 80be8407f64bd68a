"""Engine.prune: finished runs older than a cutoff go, with everything of theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wfkit import Context, Engine, Retry, RunStatus, step, workflow
from wfkit.errors import RunFailed, UsageError


@step
def ok() -> int:
    return 1


@workflow(name="fine")
def fine(ctx: Context) -> int:
    return ctx.step(ok)


@step(retry=Retry(attempts=1))
def broken() -> None:
    raise ValueError("no")


@step
def reserve() -> int:
    return 1


@reserve.compensation
def unreserve(reservation: int) -> None:
    raise ConnectionError("the undo fails too: the run ends FAILED, waiting for a person")


@workflow(name="hopeless")
def hopeless(ctx: Context) -> None:
    ctx.step(reserve)
    ctx.step(broken)


@workflow(name="family")
def family(ctx: Context) -> int:
    return ctx.child(fine)


def test_prune_keeps_recent_runs_and_failed_ones_unless_asked(engine: Engine) -> None:
    engine.start(fine, workflow_id="a").result(timeout=5)
    with pytest.raises(RunFailed):
        engine.start(hopeless, workflow_id="f").result(timeout=60)
    assert engine.get_run("f").status == RunStatus.FAILED
    engine.start(family, workflow_id="p").result(timeout=5)
    engine.clock.advance(timedelta(days=2).total_seconds())
    engine.start(fine, workflow_id="recent").result(timeout=5)

    assert engine.prune(timedelta(days=1), dry_run=True) == ["a", "p", "p/1"]
    assert len(engine.list_runs()) == 5  # a dry run deletes nothing
    assert engine.prune(timedelta(days=1)) == ["a", "p", "p/1"]
    assert sorted(r.id for r in engine.list_runs()) == ["f", "recent"]
    assert engine.store.history("a") == [] and engine.store.operations("a") == []
    assert engine.prune(86400, statuses=["FAILED"]) == ["f"]
    assert [r.id for r in engine.list_runs()] == ["recent"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"older_than": -1}, "must not be negative"),
        ({"older_than": 60, "statuses": ["RUNNING"]}, "only finished runs can be deleted"),
    ],
)
def test_prune_refuses_what_it_must_not_do(engine: Engine, kwargs: dict, message: str) -> None:
    engine.start(fine, workflow_id="a").result(timeout=5)
    with pytest.raises(UsageError) as refused:
        engine.prune(**kwargs)
    assert message in refused.value.message
    assert [r.id for r in engine.list_runs()] == ["a"]
