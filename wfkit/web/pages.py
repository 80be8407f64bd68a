"""The dashboard: server-rendered pages (Jinja2), forms that POST with a CSRF token, no build
step and nothing fetched from elsewhere. The only script is a small inline one that reloads a
page still in motion (runs list, an unfinished run) and asks before a repair.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from wfkit.engine.status import RunStatus
from wfkit.web import timeline
from wfkit.web.graph_svg import STATES, render_svg
from wfkit.web.graphs import graph_of
from wfkit.web.problems import HttpProblem
from wfkit.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    Guard,
    csrf_ok,
    new_csrf_token,
)
from wfkit.web.service import COUNTS_MAX_AGE, Service, parse_status

PAGE_SIZE = 50
REFRESH_MS = {"runs": 3000, "run": 1500}


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("wfkit.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.globals["statuses"] = [s.value for s in RunStatus]
    env.globals["states"] = STATES
    env.filters["q"] = lambda text: quote(str(text), safe="")
    return env


def _render(request: Request, name: str, http_status: int = 200, **context: Any) -> Response:
    env: Environment = request.app.state.templates
    guard: Guard = request.app.state.guard
    csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    html = env.get_template(name).render(
        csrf=csrf, csrf_field=CSRF_FIELD, logged_in=guard.token is not None, **context
    )
    response = HTMLResponse(
        html,
        status_code=http_status,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'",
        },
    )
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
    return response


def error_page(request: Request, status: int, message: str, hint: str | None) -> Response:
    back = request.headers.get("referer")
    return _render(
        request,
        "error.html",
        http_status=status,
        message=message,
        hint=hint,
        code=status,
        back=back if back and _same_site_path(back) else None,
    )


def _same_site_path(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).path.startswith("/")


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form (the only kind the pages post), its CSRF token checked."""
    raw = (await request.body()).decode("utf-8", "replace")
    form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
        raise HttpProblem(
            403,
            "the form's CSRF token is missing or stale",
            "reload the page and submit the form again",
        )
    return form


def _json_field(text: str, what: str) -> Any:
    import json

    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HttpProblem(
            400,
            f"the {what} is not valid JSON: {exc}",
            'write JSON, e.g. {"order_id": "A-1"} or "text" in quotes',
        ) from None


# -- pages -------------------------------------------------------------------------------------
async def home(request: Request) -> Response:
    return RedirectResponse("/runs", status_code=303)


async def runs_page(request: Request) -> Response:
    q = request.query_params
    status, workflow, cursor = q.get("status") or "", q.get("workflow") or "", q.get("cursor")
    parse_status(status)
    service = _service(request)

    def load() -> tuple[Any, dict[str, int]]:
        return (
            service.list_runs(status=status, workflow=workflow, limit=PAGE_SIZE, cursor=cursor),
            service.counts(workflow, max_age=COUNTS_MAX_AGE),
        )

    page, counts = await run_in_threadpool(load)
    return _render(
        request,
        "runs.html",
        title="Runs",
        page=page,
        counts=counts,
        total=sum(counts.values()),
        status=status.upper(),
        workflow=workflow,
        workflows=sorted(service.workflows),
        first_page=not cursor,
        refresh_ms=REFRESH_MS["runs"],
        when=timeline.when,
    )


async def run_page(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    service = _service(request)
    detail = await run_in_threadpool(service.detail, run_id)
    wf = service.workflows.get(detail.run.workflow)
    graph = await run_in_threadpool(graph_of, wf) if wf is not None else None
    svg = render_svg(graph, detail.run, detail.operations) if graph is not None else ""
    run = detail.run
    return _render(
        request,
        "run.html",
        title=f"Run {run.id}",
        run=run,
        rows=timeline.rows(detail),
        svg=svg,
        graph=graph,
        known=wf is not None,
        error=timeline.error_line(run.error),
        failed_steps=timeline.failed_steps(detail.operations),
        when=timeline.when,
        awaited=timeline.awaited_event(run, detail.operations),
        took=timeline.duration(run.created_at, run.finished_at),
        notice=request.query_params.get("done"),
        refresh_ms=None if run.status.terminal else REFRESH_MS["run"],
    )


async def workflows_page(request: Request) -> Response:
    service = _service(request)
    paused = await run_in_threadpool(service.engine.paused_workflows)
    items = []
    for name, wf in sorted(service.workflows.items()):
        graph = await run_in_threadpool(graph_of, wf)
        items.append(
            {
                "name": name,
                "wf": wf,
                "graph": graph,
                "svg": render_svg(graph),
                "where": _where(wf),
                "parameters": _parameters(wf),
                "paused_at": paused.get(name),
            }
        )
    return _render(
        request,
        "workflows.html",
        title="Workflows",
        items=items,
        error=request.query_params.get("error"),
        notice=request.query_params.get("done"),
    )


def _where(wf: Any) -> str:
    """``path/to/flows.py:function`` (relative to the working directory when inside it)."""
    import inspect
    import os

    try:
        path = inspect.getsourcefile(inspect.unwrap(wf.fn)) or wf.fn.__module__
    except TypeError:
        path = wf.fn.__module__
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return f"{path if relative.startswith('..') else relative}:{wf.fn.__qualname__}"


def _parameters(wf: Any) -> str:
    """The workflow's parameters after the context, as the start form's hint."""
    import inspect

    from wfkit.engine.binding import is_context_parameter

    try:
        params = list(inspect.signature(wf.fn).parameters.values())
    except (TypeError, ValueError):
        return ""
    if params and is_context_parameter(params[0]):
        params = params[1:]
    return ", ".join(str(p).replace("'", "") for p in params)


# -- forms -------------------------------------------------------------------------------------
async def start_form(request: Request) -> Response:
    name = request.path_params["name"]
    form = await _form(request)
    data = _json_field(form.get("input", ""), "input")
    run_id = form.get("id", "").strip() or None
    run, _ = await run_in_threadpool(_service(request).start, name, data, run_id)
    return RedirectResponse(f"/runs/{quote(run.id, safe='/')}?done=started", status_code=303)


async def workflow_form(request: Request) -> Response:
    """Pause or resume a whole workflow (as ``wfkit pause|resume --workflow NAME``)."""
    name, action = request.path_params["name"], request.path_params["action"]
    await _form(request)
    service = _service(request)
    if action == "pause":
        await run_in_threadpool(service.pause_workflow, name)
    elif action == "resume":
        await run_in_threadpool(service.resume_workflow, name)
    else:
        raise HttpProblem(404, f"no such action {action!r}", "use pause or resume")
    return RedirectResponse(f"/workflows?done={action}#wf-{quote(name, safe='')}", status_code=303)


async def repair_form(request: Request) -> Response:
    run_id, action = request.path_params["run_id"], request.path_params["action"]
    form = await _form(request)
    service = _service(request)
    if action == "cancel":
        await run_in_threadpool(service.cancel, run_id, form.get("compensate", "yes") != "no")
    elif action == "retry":
        await run_in_threadpool(service.retry, run_id)
    elif action == "pause":
        await run_in_threadpool(service.pause, run_id)
    elif action == "resume":
        await run_in_threadpool(service.resume, run_id)
    elif action == "skip-step":
        await run_in_threadpool(
            service.skip_step,
            run_id,
            form.get("step", ""),
            _json_field(form.get("result", ""), "result"),
        )
    elif action == "event":
        await run_in_threadpool(
            service.send_event,
            run_id,
            form.get("name", ""),
            _json_field(form.get("data", ""), "event payload"),
        )
    else:
        raise HttpProblem(
            404, f"no repair named {action!r}", "cancel, retry, pause, resume, skip-step, event"
        )
    return RedirectResponse(f"/runs/{quote(run_id, safe='/')}?done={action}", status_code=303)


async def login_page(request: Request) -> Response:
    return _render(request, "login.html", title="Log in", next=_next(request), failed=False)


async def login_form(request: Request) -> Response:
    guard: Guard = request.app.state.guard
    form = await _form(request)
    target = _next(request, form.get("next"))
    if guard.token is None:
        return RedirectResponse(target, status_code=303)
    if not guard.token_ok(form.get("token")):
        return _render(
            request, "login.html", http_status=401, title="Log in", next=target, failed=True
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, guard.session_value(), httponly=True, samesite="strict")
    return response


def _next(request: Request, given: str | None = None) -> str:
    """Where to go after logging in: a path on this server only (no open redirect)."""
    target = given if given is not None else request.query_params.get("next", "/runs")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runs"
    return target


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_form, methods=["POST"]),
    Route("/runs", runs_page, methods=["GET"]),
    Route("/runs/{run_id:path}/do/{action}", repair_form, methods=["POST"]),
    Route("/runs/{run_id:path}", run_page, methods=["GET"]),
    Route("/workflows", workflows_page, methods=["GET"]),
    Route("/workflows/{name}/start", start_form, methods=["POST"]),
    Route("/workflows/{name}/{action}", workflow_form, methods=["POST"]),
]
