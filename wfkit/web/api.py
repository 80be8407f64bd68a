"""The JSON API: ``/api/...`` routes over :class:`~wfkit.web.service.Service`.

Handlers parse the request (JSON bodies, query parameters), call the service in a worker
thread (the engine and stores are synchronous) and answer JSON with sorted keys. Errors are
raised, never built here: :mod:`wfkit.web.app` turns them into ``{"error", "hint"}``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wfkit.engine.run_json import operation_json
from wfkit.web import views
from wfkit.web.openapi import openapi_document
from wfkit.web.problems import HttpProblem
from wfkit.web.service import Service, parse_limit


class SortedJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def json_body(request: Request, *, what: str = "body") -> Any:
    """The request's JSON body; an empty body is ``null``."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpProblem(
            400,
            f"the {what} is not valid JSON: {exc}",
            'send a JSON document, e.g. -d \'{"order_id": "A-1"}\'',
        ) from None


async def start_run(request: Request) -> Response:
    name = request.path_params["name"]
    data = await json_body(request, what="input")
    run_id = request.query_params.get("id")
    run, created = await run_in_threadpool(_service(request).start, name, data, run_id)
    return SortedJSON(
        {"version": views.API_VERSION, "created": created, "run": views.run_detail(run)},
        status_code=201 if created else 200,
        headers={"Location": f"/api/runs/{run.id}"},
    )


async def list_runs(request: Request) -> Response:
    q = request.query_params
    page = await run_in_threadpool(
        _service(request).list_runs,
        status=q.get("status"),
        workflow=q.get("workflow"),
        limit=parse_limit(q.get("limit")),
        cursor=q.get("cursor"),
        queue=q.get("queue"),
    )
    return SortedJSON(
        {
            "version": views.API_VERSION,
            "runs": [views.run_summary(r) for r in page.runs],
            "next_cursor": page.next_cursor,
        }
    )


async def run_counts(request: Request) -> Response:
    counts = await run_in_threadpool(_service(request).counts, request.query_params.get("workflow"))
    return SortedJSON({"version": views.API_VERSION, "counts": counts})


async def get_run(request: Request) -> Response:
    detail = await run_in_threadpool(_service(request).detail, request.path_params["run_id"])
    return SortedJSON(
        {
            "version": views.API_VERSION,
            "run": views.run_detail(detail.run),
            "operations": [
                operation_json(op, detail.children, detail.retried) for op in detail.operations
            ],
        }
    )


async def get_history(request: Request) -> Response:
    doc = await run_in_threadpool(_service(request).history, request.path_params["run_id"])
    return SortedJSON(doc)


async def list_workflows(request: Request) -> Response:
    from wfkit.web.graphs import graph_of

    service = _service(request)
    items = []
    for name, wf in sorted(service.workflows.items()):
        graph = await run_in_threadpool(graph_of, wf)
        items.append(
            {
                "name": name,
                "version": wf.version,
                "module": wf.fn.__module__,
                "function": wf.fn.__qualname__,
                "mermaid": graph.mermaid or None,
                "graph_problem": graph.problem,
            }
        )
    return SortedJSON({"version": views.API_VERSION, "workflows": items})


async def _after_repair(request: Request, run_id: str, **extra: Any) -> Response:
    run = await run_in_threadpool(_service(request).engine.get_run, run_id)
    return SortedJSON({"version": views.API_VERSION, "run": views.run_summary(run), **extra})


async def cancel_run(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    body = await json_body(request)
    if body is None:
        body = {}
    if (
        not isinstance(body, dict)
        or set(body) - {"compensate"}
        or not isinstance(body.get("compensate", True), bool)
    ):
        raise HttpProblem(
            422,
            'the body of a cancel is {"compensate": true|false} or empty',
            "leave the body out to compensate the completed steps",
        )
    requested = await run_in_threadpool(
        _service(request).cancel, run_id, body.get("compensate", True)
    )
    return await _after_repair(request, run_id, requested=requested)


async def retry_run(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    await json_body(request)  # a body is allowed (and ignored) but must be JSON
    await run_in_threadpool(_service(request).retry, run_id)
    return await _after_repair(request, run_id)


async def pause_run(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    await json_body(request)  # a body is allowed (and ignored) but must be JSON
    changed = await run_in_threadpool(_service(request).pause, run_id)
    return await _after_repair(request, run_id, changed=changed)


async def resume_run(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    await json_body(request)
    await run_in_threadpool(_service(request).resume, run_id)
    return await _after_repair(request, run_id)


async def pause_workflow(request: Request) -> Response:
    name = request.path_params["name"]
    await json_body(request)
    service = _service(request)
    changed = await run_in_threadpool(service.pause_workflow, name)
    state = await run_in_threadpool(service.workflow_pause, name)
    return SortedJSON({"version": views.API_VERSION, "workflow": state, "changed": changed})


async def resume_workflow(request: Request) -> Response:
    name = request.path_params["name"]
    await json_body(request)
    service = _service(request)
    await run_in_threadpool(service.resume_workflow, name)
    state = await run_in_threadpool(service.workflow_pause, name)
    return SortedJSON({"version": views.API_VERSION, "workflow": state, "changed": True})


async def send_event(request: Request) -> Response:
    run_id, name = request.path_params["run_id"], request.path_params["name"]
    payload = await json_body(request, what="event payload")
    await run_in_threadpool(_service(request).send_event, run_id, name, payload)
    return await _after_repair(request, run_id, event=name)


async def skip_step(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    body = await json_body(request)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("step"), str)
        or set(body) - {"step", "result"}
    ):
        raise HttpProblem(
            422,
            'the body of a skip-step is {"step": NAME, "result": JSON}',
            "name the failed step; result defaults to null",
        )
    await run_in_threadpool(_service(request).skip_step, run_id, body["step"], body.get("result"))
    return await _after_repair(request, run_id, step=body["step"])


async def openapi(request: Request) -> Response:
    return SortedJSON(openapi_document())


# Run ids may hold "/" (a child's id is "<parent>/<seq>"): the id is a path parameter, and the
# routes with a suffix come before the bare one, whose pattern would swallow the suffix.
ROUTES = [
    Route("/api/openapi.json", openapi, methods=["GET"]),
    Route("/api/workflows", list_workflows, methods=["GET"]),
    Route("/api/workflows/{name}/runs", start_run, methods=["POST"]),
    Route("/api/workflows/{name}/pause", pause_workflow, methods=["POST"]),
    Route("/api/workflows/{name}/resume", resume_workflow, methods=["POST"]),
    Route("/api/runs", list_runs, methods=["GET"]),
    Route("/api/counts", run_counts, methods=["GET"]),
    Route("/api/runs/{run_id:path}/history", get_history, methods=["GET"]),
    Route("/api/runs/{run_id:path}/cancel", cancel_run, methods=["POST"]),
    Route("/api/runs/{run_id:path}/retry", retry_run, methods=["POST"]),
    Route("/api/runs/{run_id:path}/pause", pause_run, methods=["POST"]),
    Route("/api/runs/{run_id:path}/resume", resume_run, methods=["POST"]),
    Route("/api/runs/{run_id:path}/events/{name}", send_event, methods=["POST"]),
    Route("/api/runs/{run_id:path}/skip-step", skip_step, methods=["POST"]),
    Route("/api/runs/{run_id:path}", get_run, methods=["GET"]),
]
