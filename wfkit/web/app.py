"""The ASGI application: routes, the security gate, error rendering, worker threads.

``create_app(engine, workflows)`` is what ``wfkit serve`` runs under uvicorn and what the
tests drive through Starlette's test client. Every error leaves as one JSON document
``{"error": ..., "hint": ...}`` (pages render the same text in HTML) with the status code
of :mod:`wfkit.web.problems`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.engine import Engine
from wfkit.errors import WfkitError
from wfkit.web import api, pages
from wfkit.web.problems import HttpProblem, body_of, status_of
from wfkit.web.security import (
    SESSION_COOKIE,
    BodyLimit,
    Guard,
    bearer,
    cross_site,
    host_allowed,
    too_large_text,
)
from wfkit.web.service import Service
from wfkit.web.workers import ServerWorkers

_log = logging.getLogger("wfkit.web")
_OPEN_PATHS = ("/login", "/favicon.ico")


def create_app(
    engine: Engine,
    workflows: Iterable[WorkflowDef[Any]] = (),
    *,
    guard: Guard | None = None,
    workers: int = 0,
    idle_interval: float = 0.2,
) -> Starlette:
    """The server for ``engine``; ``workers`` > 0 also runs that many runs at once here."""
    service = Service(engine, {wf.name: wf for wf in workflows})
    engine.register(*service.workflows.values())
    guard = guard or Guard()
    runner = ServerWorkers(engine, workers, idle_interval) if workers else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()  # lets each activation in progress finish its checkpoint

    app = Starlette(
        routes=[*api.ROUTES, *pages.ROUTES],
        lifespan=lifespan,
        exception_handlers={
            HttpProblem: _problem,
            WfkitError: _wfkit_error,
            404: _not_found,
            405: _not_allowed,
            Exception: _internal,
        },
    )
    app.state.service = service
    app.state.guard = guard
    app.state.templates = pages.templates()
    app.add_middleware(_Gate, guard=guard)
    app.add_middleware(
        BodyLimit, limit=guard.max_body, too_large=lambda limit: _json(413, *too_large_text(limit))
    )
    return app


def _json(
    status: int, message: str, hint: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(body_of(message, hint), status_code=status, headers=headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpProblem)
    if _wants_html(request):
        return pages.error_page(request, exc.status, exc.message, exc.hint)
    return _json(exc.status, exc.message, exc.hint, exc.headers)


async def _wfkit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WfkitError)
    status = status_of(exc)
    if status >= 500:
        _log.error("%s %s: %s", request.method, request.url.path, exc.one_line())
    if _wants_html(request):
        return pages.error_page(request, status, exc.message, exc.hint)
    # A store that is busy or down is worth asking again; nothing was written.
    return _json(status, exc.message, exc.hint, {"Retry-After": "1"} if status == 503 else None)


async def _not_found(request: Request, exc: Exception) -> Response:
    if _wants_html(request):
        return pages.error_page(request, 404, f"no page at {request.url.path}", None)
    return _json(404, f"no endpoint at {request.url.path}", "see /api/openapi.json")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _json(
        405, f"{request.method} is not allowed on {request.url.path}", "see /api/openapi.json"
    )


async def _internal(request: Request, exc: Exception) -> Response:
    _log.exception("%s %s failed", request.method, request.url.path)
    return _json(
        500,
        f"internal error: {type(exc).__name__}",
        "this is a bug in wfkit; the server log has the trace",
    )


class _Gate:
    """Host check, token check and the cross-site POST refusal, before any route runs."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        answer = self._check(request)
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, request: Request) -> Response | None:
        path = request.url.path
        is_api = path.startswith("/api/")
        host = request.headers.get("host")
        if not host_allowed(host, self.guard.allowed_hosts):
            return _json(
                421,
                f"this server does not answer to host {host!r}",
                "open it as http://127.0.0.1:PORT, or start it with --token to serve other names",
            )
        if request.method not in ("GET", "HEAD", "OPTIONS") and cross_site(request.headers, host):
            return _json(
                403,
                "cross-site request refused",
                "post from the dashboard itself, or from a client that sends no "
                "Origin of another site",
            )
        if self.guard.token is None or path in _OPEN_PATHS:
            return None
        if is_api:
            if not self.guard.token_ok(bearer(request.headers.get("authorization"))):
                return _json(
                    401,
                    "missing or wrong token",
                    "send the header Authorization: Bearer TOKEN",
                    {"WWW-Authenticate": "Bearer"},
                )
            return None
        if not self.guard.session_ok(request.cookies.get(SESSION_COOKIE)):
            if request.method in ("GET", "HEAD"):
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
            return pages.error_page(request, 401, "not logged in", "log in at /login first")
        return None


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
