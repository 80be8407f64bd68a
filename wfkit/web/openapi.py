"""The OpenAPI 3.1 document of the JSON API, served at ``/api/openapi.json``.

Written as data next to the routes it describes (``tests/web`` checks that every route is
in it and every path in it is a route), rather than generated: the API is small and its
errors matter more than its schemas.
"""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "an error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _responses(ok: str, *codes: int, created: bool = False) -> dict[str, Any]:
    answers: dict[str, Any] = {"200": {"description": ok}}
    if created:
        answers["201"] = {"description": "created"}
    for code in codes:
        answers[str(code)] = _ERROR
    answers["401"] = _ERROR
    return answers


def _run_id() -> dict[str, Any]:
    return {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    from wfkit import __version__

    json_body = {"content": {"application/json": {"schema": {}}}, "required": False}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wfkit",
            "version": __version__,
            "description": "Start, watch and repair durable workflow runs. Errors are "
            '{"error": ..., "hint": ...}. With a token, send '
            "Authorization: Bearer TOKEN.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "hint": {"type": ["string", "null"]},
                    },
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/openapi.json": {
                "get": {"summary": "this document", "responses": _responses("the document")}
            },
            "/api/workflows": {
                "get": {
                    "summary": "the workflows this server runs, with their graphs as Mermaid",
                    "responses": _responses("the workflows"),
                }
            },
            "/api/workflows/{name}/runs": {
                "post": {
                    "summary": "start a run; the body is the input; ?id= makes it idempotent",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "id",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": json_body,
                    "responses": _responses(
                        "the run existed", 400, 404, 409, 413, 422, created=True
                    ),
                }
            },
            **{
                f"/api/workflows/{{name}}/{verb}": {
                    "post": {
                        "summary": summary,
                        "parameters": [
                            {
                                "name": "name",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        ],
                        "responses": _responses("the workflow's pause state", 404, 409),
                    }
                }
                for verb, summary in (
                    ("pause", "pause every run of a workflow, those started later too"),
                    ("resume", "lift a workflow's pause"),
                )
            },
            "/api/runs": {
                "get": {
                    "summary": "runs, newest first, a page at a time (keyset cursor)",
                    "parameters": [
                        {
                            "name": n,
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer" if n == "limit" else "string"},
                        }
                        for n in ("status", "workflow", "queue", "limit", "cursor")
                    ],
                    "responses": _responses("a page of runs and next_cursor", 400),
                }
            },
            "/api/counts": {
                "get": {
                    "summary": "how many runs there are of each status",
                    "parameters": [
                        {
                            "name": "workflow",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": _responses("counts by status"),
                }
            },
            "/api/runs/{run_id}": {
                "get": {
                    "summary": "a run with its operations and their retried attempts",
                    "parameters": [_run_id()],
                    "responses": _responses("the run", 400, 404),
                }
            },
            "/api/runs/{run_id}/history": {
                "get": {
                    "summary": "the run's history (the wfkit export format)",
                    "parameters": [_run_id()],
                    "responses": _responses("the history", 400, 404),
                }
            },
            "/api/runs/{run_id}/cancel": {
                "post": {
                    "summary": 'cancel a run that has not finished; body {"compensate": bool}',
                    "parameters": [_run_id()],
                    "requestBody": json_body,
                    "responses": _responses("requested (or already requested)", 400, 404, 409, 422),
                }
            },
            "/api/runs/{run_id}/retry": {
                "post": {
                    "summary": "resume a FAILED run from its checkpoints",
                    "parameters": [_run_id()],
                    "responses": _responses("the run is runnable again", 400, 404, 409),
                }
            },
            "/api/runs/{run_id}/pause": {
                "post": {
                    "summary": "pause a run: no step of it starts until it is resumed",
                    "parameters": [_run_id()],
                    "responses": _responses("paused (changed: false if it was)", 400, 404, 409),
                }
            },
            "/api/runs/{run_id}/resume": {
                "post": {
                    "summary": "resume a paused run",
                    "parameters": [_run_id()],
                    "responses": _responses("the run is runnable again", 400, 404, 409),
                }
            },
            "/api/runs/{run_id}/events/{name}": {
                "post": {
                    "summary": "send an event; the body is its payload",
                    "parameters": [
                        _run_id(),
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": json_body,
                    "responses": _responses("sent", 400, 404, 409, 413),
                }
            },
            "/api/runs/{run_id}/skip-step": {
                "post": {
                    "summary": "record a result for the failed step of a FAILED run; body "
                    '{"step": NAME, "result": JSON}',
                    "parameters": [_run_id()],
                    "requestBody": json_body,
                    "responses": _responses("recorded", 400, 404, 409, 413, 422),
                }
            },
        },
    }
