"""The dashboard's pages and forms through the ASGI test client (the browser tests click
through the main paths; these cover every page, filter and form, and their errors)."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from wfkit.engine.engine import Engine
from wfkit.web.security import CSRF_COOKIE


def csrf(client: TestClient) -> str:
    client.get("/runs")
    token = client.cookies.get(CSRF_COOKIE)
    assert token
    return token


def test_home_goes_to_the_runs(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/runs"


def test_runs_list_filters_counts_and_pages(client: TestClient, engine: Engine, drive: Any) -> None:
    empty = client.get("/runs")
    assert empty.status_code == 200 and "No runs yet" in empty.text
    for i in range(53):
        client.post(f"/api/workflows/adder/runs?id=a{i:02d}", json=[i, 1])
    client.post("/api/workflows/checkout/runs?id=c1", json="x")
    drive("c1")
    page = client.get("/runs")
    assert 'data-run="c1"' in page.text and 'data-run="a52"' in page.text
    assert page.text.count("<tr data-run=") == 50
    counts = dict(
        re.findall(
            r'data-status="(\w+)"[^>]*><span class="badge[^"]*">\w+</span>'
            r"<b>(\d+)</b>",
            page.text,
        )
    )
    assert counts["PENDING"] == "53" and counts["COMPENSATED"] == "1" and counts["FAILED"] == "0"
    older = re.search(r'id="older" href="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    second = client.get(older.replace("&amp;", "&"))
    assert second.text.count("<tr data-run=") == 4 and 'data-run="a00"' in second.text
    assert 'id="older"' not in second.text
    only = client.get("/runs?status=COMPENSATED")
    assert only.text.count("<tr data-run=") == 1 and 'data-run="c1"' in only.text
    by_workflow = client.get("/runs?workflow=checkout&status=")
    assert by_workflow.text.count("<tr data-run=") == 1
    assert "No runs match" in client.get("/runs?status=FAILED").text
    bad = client.get("/runs?status=NOPE")
    assert bad.status_code == 400 and "unknown status" in bad.text


def test_run_page_shows_header_graph_timeline_and_the_repairs_that_fit(
    client: TestClient, drive: Any
) -> None:
    client.post("/api/workflows/repairable/runs?id=f1", json=4)
    waiting = client.get("/runs/f1")
    assert "No operations yet" in waiting.text and 'id="cancel-button"' in waiting.text
    assert "location.reload" in waiting.text  # an unfinished run refreshes itself
    drive("f1")
    page = client.get("/runs/f1")
    assert page.status_code == 200 and 'id="run-status">FAILED' in page.text
    assert 'id="retry-button"' in page.text and "<option>fragile</option>" in page.text
    assert "<option>hold</option>" in page.text  # its failed compensation
    assert 'id="cancel-button"' not in page.text and "location.reload" not in page.text
    assert 'data-label="fragile" data-state="failed"' in page.text
    assert 'data-label="hold" data-state="done"' in page.text
    assert "RuntimeError: not yet" in page.text and "↩ compensation" in page.text


def test_an_unknown_run_page_is_a_404_page(client: TestClient) -> None:
    answer = client.get("/runs/ghost")
    assert answer.status_code == 404 and "no workflow run with id" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_workflows_page_draws_each_graph(client: TestClient) -> None:
    page = client.get("/workflows")
    assert page.status_code == 200
    for name in ("adder", "approval", "checkout", "repairable"):
        assert f'id="wf-{name}"' in page.text
    assert page.text.count("<svg") == 4 and "flowchart TD" in page.text


def test_start_form_starts_a_run_and_reports_bad_input(client: TestClient, engine: Engine) -> None:
    token = csrf(client)
    done = client.post(
        "/workflows/adder/start",
        data={"csrf": token, "input": "[1, 2]", "id": "p1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/runs/p1?done=started"
    bad = client.post("/workflows/adder/start", data={"csrf": token, "input": "{oops"})
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    wrong = client.post("/workflows/adder/start", data={"csrf": token, "input": '{"a": 1}'})
    assert wrong.status_code == 422 and "missing argument" in wrong.text
    unknown = client.post("/workflows/nope/start", data={"csrf": token, "input": "1"})
    assert unknown.status_code == 404
    assert [r.id for r in engine.list_runs()] == ["p1"]


def test_repair_forms(
    client: TestClient, engine: Engine, drive: Any, switches: dict[str, bool]
) -> None:
    token = csrf(client)
    client.post("/api/workflows/approval/runs", json="E1")
    sent = client.post(
        "/runs/E1/do/event",
        data={"csrf": token, "name": "decision", "data": '"yes"'},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/runs/E1?done=event"
    assert drive("E1") == "yes"
    late = client.post("/runs/E1/do/cancel", data={"csrf": token})
    assert late.status_code == 409 and "already ended COMPLETED" in late.text
    client.post("/api/workflows/repairable/runs?id=f2", json=4)
    drive("f2")
    skipped = client.post(
        "/runs/f2/do/skip-step", data={"csrf": token, "step": "fragile", "result": "7"}
    )
    assert skipped.status_code == 200 and "Result recorded" in skipped.text
    assert drive("f2") == 8
    client.post("/api/workflows/repairable/runs?id=f3", json=4)
    drive("f3")
    switches["undo_fails"] = False
    retried = client.post("/runs/f3/do/retry", data={"csrf": token})
    assert retried.status_code == 200 and "runnable again" in retried.text
    assert engine.get_run("f3").status.value == "COMPENSATING"
    nothing = client.post("/runs/f3/do/explode", data={"csrf": token})
    assert nothing.status_code == 404
