"""Pause and resume on the dashboard: the run page shows a paused run (a PAUSED badge, a
`paused` line) and offers Pause or Resume; the API pauses and resumes, with the CLI's rules
(409 for a finished run or one not paused, 404 for an unknown one)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from wfkit.engine.engine import Engine
from wfkit.web.security import CSRF_COOKIE


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"])


def test_the_api_pauses_and_resumes_a_run(client: TestClient, engine: Engine, drive: Any) -> None:
    client.post("/api/workflows/approval/runs?id=p1", json="EXP-1")
    paused = client.post("/api/runs/p1/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["changed"] is True and paused.json()["run"]["paused"] is True
    assert client.post("/api/runs/p1/pause").json()["changed"] is False
    assert client.get("/api/runs/p1").json()["run"]["paused"] is True
    assert engine.work_once() is False  # held
    resumed = client.post("/api/runs/p1/resume")
    assert resumed.status_code == 200 and resumed.json()["run"]["paused"] is False
    assert "is not paused" in error(client.post("/api/runs/p1/resume"), 409)
    assert "no workflow run" in error(client.post("/api/runs/ghost/pause"), 404)
    assert "/api/runs/{run_id}/pause" in client.get("/api/openapi.json").json()["paths"]


def test_the_api_pauses_and_resumes_a_whole_workflow(client: TestClient, engine: Engine) -> None:
    client.post("/api/workflows/approval/runs?id=w1", json="EXP-1")
    paused = client.post("/api/workflows/approval/pause")
    assert paused.status_code == 200, paused.text
    body = paused.json()
    assert body["changed"] is True and body["workflow"]["paused"] is True
    assert body["workflow"]["name"] == "approval" and body["workflow"]["paused_at"]
    assert client.post("/api/workflows/approval/pause").json()["changed"] is False
    assert engine.paused_workflows().keys() == {"approval"}
    client.post("/api/workflows/approval/runs?id=w2", json="EXP-2")  # created, and waits
    assert engine.work_once() is False
    resumed = client.post("/api/workflows/approval/resume")
    assert resumed.status_code == 200 and resumed.json()["workflow"]["paused"] is False
    assert "is not paused" in error(client.post("/api/workflows/approval/resume"), 409)
    assert "no workflow named 'ghost'" in error(client.post("/api/workflows/ghost/pause"), 404)
    assert engine.paused_workflows() == {}
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/workflows/{name}/pause", "/api/workflows/{name}/resume"} <= set(paths)


def test_the_run_page_shows_a_pause_and_offers_resume(client: TestClient, engine: Engine) -> None:
    client.post("/api/workflows/approval/runs?id=p2", json="EXP-2")
    client.get("/runs")
    token = client.cookies.get(CSRF_COOKIE)
    page = client.get("/runs/p2")
    assert 'id="pause-button"' in page.text and 'id="run-paused"' not in page.text
    done = client.post("/runs/p2/do/pause", data={"csrf": token})
    assert done.status_code == 200 and "Paused: no step of the run starts" in done.text
    assert 'id="run-paused"' in done.text and 'id="resume-button"' in done.text
    assert engine.get_run("p2").paused
    listed = client.get("/runs")
    assert "paused" in listed.text
    done = client.post("/runs/p2/do/resume", data={"csrf": token})
    assert done.status_code == 200 and "Resumed" in done.text
    assert not engine.get_run("p2").paused


def test_the_workflows_page_pauses_and_resumes_a_workflow(
    client: TestClient, engine: Engine
) -> None:
    page = client.get("/workflows")
    token = client.cookies.get(CSRF_COOKIE)
    assert 'id="pause-workflow-approval"' in page.text and "wf-paused-approval" not in page.text
    done = client.post("/workflows/approval/pause", data={"csrf": token})
    assert done.status_code == 200 and "Workflow paused" in done.text  # after the redirect
    assert 'id="wf-paused-approval"' in done.text and 'id="resume-workflow-approval"' in done.text
    assert engine.paused_workflows().keys() == {"approval"}
    done = client.post("/workflows/approval/resume", data={"csrf": token})
    assert done.status_code == 200 and "Workflow resumed" in done.text
    assert engine.paused_workflows() == {}
    assert client.post("/workflows/approval/resume", data={"csrf": token}).status_code == 409
    assert client.post("/workflows/ghost/pause", data={"csrf": token}).status_code == 404
    assert client.post("/workflows/approval/pause").status_code == 403  # no CSRF token
    assert engine.paused_workflows() == {}
