"""The JSON API through the ASGI test client: every endpoint, its status codes and errors.

Each error is ``{"error", "hint"}`` with the status of wfkit.web.problems, and leaves the
store as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from wfkit import Queue
from wfkit.engine.engine import Engine


def snapshot(engine: Engine) -> list[Any]:
    """Everything stored, to show that an error wrote nothing."""
    runs = engine.store.list_runs()
    return [(r, engine.store.operations(r.id), engine.store.history(r.id)) for r in runs]


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "hint"} and body["error"]
    return str(body["error"])


# -- start --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "store_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_start_is_201_then_200_for_the_same_id(
    client: TestClient, engine: Engine, drive: Any
) -> None:
    first = client.post("/api/workflows/adder/runs?id=sum-1", json={"a": 2, "b": 40})
    assert first.status_code == 201 and first.json()["created"] is True
    run = first.json()["run"]
    assert (run["id"], run["workflow"], run["status"], run["input"]) == (
        "sum-1",
        "adder",
        "PENDING",
        {"args": [], "kwargs": {"a": 2, "b": 40}},
    )
    assert first.headers["location"] == "/api/runs/sum-1"
    again = client.post("/api/workflows/adder/runs?id=sum-1", json={"a": 2, "b": 40})
    assert again.status_code == 200 and again.json()["created"] is False
    assert [r.id for r in engine.list_runs()] == ["sum-1"]
    assert drive("sum-1") == 42
    assert client.get("/api/runs/sum-1").json()["run"]["result"] == 42


def test_start_without_id_names_the_run_by_the_workflow_or_a_uuid(client: TestClient) -> None:
    made = client.post("/api/workflows/approval/runs", json={"request_id": "EXP-1"})
    assert made.status_code == 201 and made.json()["run"]["id"] == "EXP-1"
    assert client.post("/api/workflows/approval/runs", json="EXP-1").status_code == 200
    fresh = client.post("/api/workflows/adder/runs", json=[1, 2])
    assert fresh.status_code == 201 and len(fresh.json()["run"]["id"]) >= 32


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/workflows/nope/runs", b"{}", 404, "no workflow named 'nope'"),
        ("/api/workflows/adder/runs", b"{not json", 400, "not valid JSON"),
        ("/api/workflows/adder/runs", b'{"a": 1}', 422, "missing argument 'b'"),
        ("/api/workflows/adder/runs", b'{"a": "x", "b": 2}', 422, "input of workflow 'adder'"),
        ("/api/workflows/adder/runs?id=a%0Ab", b'{"a": 1, "b": 2}', 400, "invalid workflow_id"),
    ],
)
def test_start_errors_write_nothing(
    client: TestClient, engine: Engine, path: str, body: bytes, status: int, words: str
) -> None:
    before = snapshot(engine)
    assert words in error(client.post(path, content=body), status)
    assert snapshot(engine) == before


def test_an_id_taken_by_another_workflow_is_409(client: TestClient, engine: Engine) -> None:
    client.post("/api/workflows/adder/runs?id=x", json=[1, 2])
    before = snapshot(engine)
    assert "already used by a 'adder' run" in error(
        client.post("/api/workflows/approval/runs?id=x", json="r"), 409
    )
    assert snapshot(engine) == before


def test_an_input_over_the_payload_limit_is_413(flows: list[Any], store_url: str) -> None:
    from wfkit.web.app import create_app

    with (
        Engine(store_url, workflows=flows, max_payload_bytes=100) as small,
        TestClient(create_app(small, flows)) as c,
    ):
        assert "over the payload limit" in error(
            c.post("/api/workflows/approval/runs", json="x" * 200), 413
        )
        assert small.list_runs() == []


def test_a_body_over_max_body_is_413_before_it_is_read(serve: Any, engine: Engine) -> None:
    from wfkit.web.security import Guard

    c = serve(guard=Guard(max_body=64))
    assert "over the limit of 64 bytes" in error(
        c.post("/api/workflows/approval/runs", json="y" * 100), 413
    )

    def chunks() -> Any:  # no Content-Length: the limit is counted as the body streams in
        yield b'"' + b"z" * 50
        yield b"z" * 50 + b'"'

    assert "over the limit" in error(c.post("/api/workflows/approval/runs", content=chunks()), 413)
    assert engine.list_runs() == []


# -- list -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "store_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_list_pages_newest_first_with_a_cursor(client: TestClient, engine: Engine) -> None:
    for i in range(7):
        client.post(f"/api/workflows/adder/runs?id=r{i}", json=[i, i])
    client.post("/api/workflows/approval/runs", json="w1")
    seen, cursor = [], ""
    while True:
        page = client.get(f"/api/runs?workflow=adder&limit=3&cursor={cursor}").json()
        seen.append([r["id"] for r in page["runs"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [["r6", "r5", "r4"], ["r3", "r2", "r1"], ["r0"]]
    everything = client.get("/api/runs").json()
    assert [r["id"] for r in everything["runs"]][:2] == ["w1", "r6"]
    assert everything["next_cursor"] is None and everything["version"] == 1
    assert client.get("/api/runs?status=pending&workflow=approval").json()["runs"][0]["id"] == "w1"
    assert client.get("/api/runs?status=COMPLETED").json()["runs"] == []
    assert client.get("/api/counts").json()["counts"]["PENDING"] == 8
    # ?queue=: the runs started on that queue only.
    engine.register_queue(Queue("mail", concurrency=1))
    adder = engine.workflows["adder"]
    engine.start(adder, 1, 2, workflow_id="q1", queue="mail")
    assert [r["id"] for r in client.get("/api/runs?queue=mail").json()["runs"]] == ["q1"]
    assert client.get("/api/runs?queue=mail&status=queued").json()["runs"][0]["status"] == "QUEUED"
    assert client.get("/api/runs?queue=other").json()["runs"] == []
    assert client.get("/api/counts?workflow=approval").json()["counts"]["PENDING"] == 1


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("status=DONE", "unknown status 'DONE'"),
        ("limit=0", "invalid limit"),
        ("limit=501", "invalid limit"),
        ("limit=x", "invalid limit"),
        ("cursor=!!!", "invalid cursor"),
        ("cursor=WzEsMl0", "invalid cursor"),
    ],
)
def test_list_rejects_bad_parameters(client: TestClient, query: str, words: str) -> None:
    assert words in error(client.get(f"/api/runs?{query}"), 400)


# -- one run, its history -------------------------------------------------------------------------
def test_get_run_has_operations_with_retried_attempts(client: TestClient, drive: Any) -> None:
    client.post("/api/workflows/checkout/runs?id=c1", json="lamp")
    drive("c1")
    body = client.get("/api/runs/c1").json()
    assert body["run"]["status"] == "COMPENSATED"
    assert body["run"]["error"]["type"] == "RuntimeError"
    ops = body["operations"]
    assert [(o["kind"], o["name"], o["status"]) for o in ops] == [
        ("step", "reserve", "COMPLETED"),
        ("step", "pay", "COMPLETED"),
        ("step", "ship", "FAILED"),
        ("compensation", "pay", "COMPLETED"),
        ("compensation", "reserve", "COMPLETED"),
    ]
    assert ops[2]["attempt"] == 3 and [a["attempt"] for a in ops[2]["retried_attempts"]] == [1, 2]
    assert ops[3]["compensates"] == 2 and ops[1]["result"] == "receipt-lamp"


def test_history_is_the_export_format(client: TestClient, engine: Engine, drive: Any) -> None:
    from wfkit.engine.history import History

    client.post("/api/workflows/adder/runs?id=h1", json=[1, 1])
    drive("h1")
    doc = client.get("/api/runs/h1/history").json()
    assert doc == json.loads(History.from_store(engine.store, "h1").to_json())
    assert doc["format"] == "wfkit-history"
    History.from_dict(doc)  # replayable as it is


def test_child_run_ids_with_a_slash_are_reachable(client: TestClient, engine: Engine) -> None:
    client.post("/api/workflows/adder/runs?id=parent/7", json=[1, 1])
    assert client.get("/api/runs/parent/7").json()["run"]["id"] == "parent/7"
    assert client.get("/api/runs/parent%2F7/history").status_code == 200
    assert client.post("/api/runs/parent/7/cancel").status_code == 200


@pytest.mark.parametrize("path", ["/api/runs/nope", "/api/runs/nope/history"])
def test_an_unknown_run_is_404(client: TestClient, path: str) -> None:
    assert "no workflow run with id 'nope'" in error(client.get(path), 404)


# -- workflows, openapi ---------------------------------------------------------------------------
def test_workflows_list_their_graphs_as_mermaid(client: TestClient) -> None:
    body = client.get("/api/workflows").json()
    names = [w["name"] for w in body["workflows"]]
    assert names == sorted(names) and "checkout" in names
    checkout = next(w for w in body["workflows"] if w["name"] == "checkout")
    assert checkout["mermaid"].startswith("flowchart TD")
    assert '"ship' in checkout["mermaid"] and "undo: refund" in checkout["mermaid"]
    assert checkout["graph_problem"] is None and checkout["version"] == 1


def test_openapi_describes_exactly_the_routes(client: TestClient) -> None:
    from wfkit.web.api import ROUTES

    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = {
        (r.path.replace(":path", ""), m) for r in ROUTES for m in (r.methods or ()) if m != "HEAD"
    }
    assert documented == routed


def test_unknown_endpoints_and_methods_are_json(client: TestClient) -> None:
    assert "no endpoint" in error(client.get("/api/nothing"), 404)
    assert "not allowed" in error(client.delete("/api/runs"), 405)


# -- repairs ---------------------------------------------------------------------------------------
def test_cancel_then_cancel_again(client: TestClient, engine: Engine, drive: Any) -> None:
    client.post("/api/workflows/approval/runs", json="EXP-9")
    first = client.post("/api/runs/EXP-9/cancel", json={"compensate": False})
    assert first.status_code == 200 and first.json()["requested"] is True
    assert first.json()["run"]["cancel_requested"] is True
    again = client.post("/api/runs/EXP-9/cancel")
    assert again.json()["requested"] is False
    assert engine.get_run("EXP-9").compensate_on_cancel is False  # the first one stands
    drive("EXP-9")
    assert "already ended CANCELLED" in error(client.post("/api/runs/EXP-9/cancel"), 409)


@pytest.mark.parametrize("body", [b"[1]", b'{"compensate": "no"}', b'{"x": 1}'])
def test_cancel_with_a_bad_body_is_422(client: TestClient, engine: Engine, body: bytes) -> None:
    client.post("/api/workflows/approval/runs", json="EXP-2")
    before = snapshot(engine)
    error(client.post("/api/runs/EXP-2/cancel", content=body), 422)
    assert snapshot(engine) == before


def test_events_wake_a_waiting_run(client: TestClient, engine: Engine, drive: Any) -> None:
    client.post("/api/workflows/approval/runs", json="EXP-3")
    sent = client.post("/api/runs/EXP-3/events/decision", json="approved by grace")
    assert sent.status_code == 200 and sent.json()["event"] == "decision"
    assert drive("EXP-3") == "approved by grace"
    assert "events are only delivered to runs that have not finished" in error(
        client.post("/api/runs/EXP-3/events/decision", json="late"), 409
    )
    assert "invalid event name" in error(
        client.post("/api/runs/EXP-3/events/wfkit.internal", json=1), 400
    )
    assert "no workflow run" in error(client.post("/api/runs/none/events/x"), 404)


def test_an_event_over_the_payload_limit_is_413(flows: list[Any], store_url: str) -> None:
    from wfkit.web.app import create_app

    with (
        Engine(store_url, workflows=flows, max_payload_bytes=100) as small,
        TestClient(create_app(small, flows)) as c,
    ):
        c.post("/api/workflows/approval/runs", json="E")
        error(c.post("/api/runs/E/events/decision", json="x" * 300), 413)
        assert small.store.pending_events("E", "decision") == []


def failed(client: TestClient, drive: Any, run_id: str) -> None:
    client.post(f"/api/workflows/repairable/runs?id={run_id}", json=4)
    drive(run_id)
    assert client.get(f"/api/runs/{run_id}").json()["run"]["status"] == "FAILED"


def test_retry_resumes_a_failed_run(
    client: TestClient, drive: Any, switches: dict[str, bool]
) -> None:
    failed(client, drive, "f1")
    switches["undo_fails"] = False
    answer = client.post("/api/runs/f1/retry")
    assert answer.status_code == 200 and answer.json()["run"]["status"] == "COMPENSATING"
    drive("f1")
    assert client.get("/api/runs/f1").json()["run"]["status"] == "COMPENSATED"
    assert "not FAILED" in error(client.post("/api/runs/f1/retry"), 409)
    assert "no workflow run" in error(client.post("/api/runs/zz/retry"), 404)


def test_skip_step_rolls_a_failed_step_forward(
    client: TestClient, drive: Any, engine: Engine
) -> None:
    failed(client, drive, "f2")
    before = snapshot(engine)
    assert "did not fail" in error(
        client.post("/api/runs/f2/skip-step", json={"step": "nope", "result": 1}), 409
    )
    for bad in (b"null", b'{"result": 1}', b'{"step": 3}', b'{"step": "x", "extra": 1}'):
        error(client.post("/api/runs/f2/skip-step", content=bad), 422)
    assert snapshot(engine) == before
    done = client.post("/api/runs/f2/skip-step", json={"step": "fragile", "result": 99})
    assert done.status_code == 200 and done.json()["run"]["status"] == "PENDING"
    assert drive("f2") == 100


def test_repairs_of_an_unknown_run_are_404(client: TestClient) -> None:
    for path in ("cancel", "retry", "skip-step", "events/x"):
        body = {"step": "s"} if path == "skip-step" else None
        assert "no workflow run" in error(client.post(f"/api/runs/ghost/{path}", json=body), 404)


# -- the server's own workers ---------------------------------------------------------------------
def test_workers_run_runs_started_through_the_api(serve: Any, engine: Engine) -> None:
    import time

    c = serve(workers=2)
    c.post("/api/workflows/adder/runs?id=w1", json=[20, 22])
    deadline = time.monotonic() + 20
    while c.get("/api/runs/w1").json()["run"]["status"] != "COMPLETED":
        assert time.monotonic() < deadline, c.get("/api/runs/w1").json()
        time.sleep(0.05)
    assert c.get("/api/runs/w1").json()["run"]["result"] == 42


def test_a_locked_store_is_503_and_nothing_is_written(flows: list[Any], tmp_path: Any) -> None:
    import sqlite3

    from wfkit.web.app import create_app

    with (
        Engine(f"sqlite:///{tmp_path / 'locked.db'}?timeout=0.1", workflows=flows) as eng,
        TestClient(create_app(eng, flows)) as c,
    ):
        c.post("/api/workflows/approval/runs", json="L1")
        holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for answer in (
                c.post("/api/workflows/adder/runs?id=L2", json=[1, 2]),
                c.post("/api/runs/L1/cancel"),
            ):
                assert "database is locked" in error(answer, 503)
                assert answer.headers["retry-after"] == "1"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert [r.id for r in eng.list_runs()] == ["L1"]
        assert not eng.get_run("L1").cancel_requested
