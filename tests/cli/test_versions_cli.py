"""`wfkit versions` / engine.versions(): runs in flight per workflow, version and gate markers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wfkit import Context, Engine, workflow
from wfkit.cli.main import main


def waiting(version: int, gate: str | None) -> object:
    @workflow(name="checkout", version=version)
    def checkout(ctx: Context, order: str) -> object:
        if gate is not None and ctx.patched(gate):
            pass
        return ctx.wait_for_event("paid")

    return checkout


@workflow(name="report")
def report(ctx: Context) -> object:
    return ctx.wait_for_event("go")


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    old, new = waiting(1, None), waiting(2, "fraud-check")
    engine = Engine(url, workflows=[old])
    for order in ("a", "b"):
        engine.start(old, order, workflow_id=f"old-{order}")
        engine.work_once(run_id=f"old-{order}")
    engine.close()
    engine = Engine(url, workflows=[new, report])
    engine.start(new, "c", workflow_id="new-c")
    engine.work_once(run_id="new-c")
    engine.start(new, "d", workflow_id="new-d")
    engine.work_once(run_id="new-d")
    engine.send_event("new-d", "paid", None)
    engine.work_once(run_id="new-d")  # finished: not in flight
    engine.start(report, workflow_id="r")
    engine.work_once(run_id="r")
    engine.close()
    return url


def wfkit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_versions_groups_runs_in_flight_oldest_first(capsys, store: str) -> None:
    code, out, _ = wfkit(capsys, "versions", "--store", store, "--format", "json")
    groups = json.loads(out)["groups"]
    assert code == 0 and json.loads(out)["version"] == 1
    shown = [(g["workflow"], g["workflow_version"], g["patches"], g["runs"]) for g in groups]
    assert shown == [
        ("checkout", 1, [], 2),
        ("checkout", 2, ["fraud-check"], 1),
        ("report", 1, [], 1),
    ]
    assert groups[0]["oldest_run_id"] == "old-a" and groups[0]["statuses"] == {"WAITING": 2}
    code, out, _ = wfkit(capsys, "versions", "--store", store)
    lines = out.splitlines()
    assert lines[0].split() == [
        "WORKFLOW",
        "VERSION",
        "PATCHES",
        "RUNS",
        "OLDEST",
        "STARTED",
        "OLDEST",
        "RUN",
    ]
    assert lines[1].split()[:4] == ["checkout", "1", "-", "2"] and lines[1].endswith("old-a")
    assert lines[2].split()[:4] == ["checkout", "2", "fraud-check", "1"]


def test_versions_of_one_workflow_and_of_none(capsys, store: str) -> None:
    assert Engine(store).versions("report")[0].runs == 1
    code, out, err = wfkit(capsys, "versions", "--store", store, "--workflow", "nope")
    assert code == 0 and out == "" and "no runs in flight of workflow 'nope'" in err


def test_versions_on_a_missing_store_is_one_line_exit_2(capsys, tmp_path: Path) -> None:
    code, _, err = wfkit(capsys, "versions", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 2 and err.count("\n") == 1 and err.startswith("wfkit: error: ")
    assert not (tmp_path / "none.db").exists()
