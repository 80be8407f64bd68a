"""Who may talk to the server, and how much: the token, CSRF, the Host check, the body limit.

- **Token.** When the server has one (``--token`` / ``WFKIT_TOKEN``; required off loopback),
  every request carries it: ``Authorization: Bearer TOKEN`` for the API, a session cookie set
  by the login form for pages. The cookie holds an HMAC of the token, never the token.
- **Cross-site requests.** A POST whose ``Origin`` (or ``Sec-Fetch-Site``) says it comes from
  another site is refused, API and pages alike: without it, any web page a user opens could
  post to a token-less server on 127.0.0.1. Page forms also carry a CSRF token that must match
  the ``wfkit_csrf`` cookie (double submit; the cookie is ``SameSite=Strict``).
- **Host.** A server on loopback without a token answers only to loopback host names, so a
  DNS-rebinding page cannot reach it under a name of its own.
- **Body size.** A body over the limit is refused with 413 before it is read whole.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wfkit.web.problems import HttpProblem

SESSION_COOKIE = "wfkit_session"
CSRF_COOKIE = "wfkit_csrf"
CSRF_FIELD = "csrf"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Guard:
    """The server's security settings; one per application."""

    token: str | None = None
    max_body: int = 4 * 1024 * 1024 + 64 * 1024
    allowed_hosts: frozenset[str] | None = None  # None: any Host header

    def session_value(self) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"wfkit-session", hashlib.sha256).hexdigest()

    def token_ok(self, given: str | None) -> bool:
        return self.token is None or (
            given is not None and hmac.compare_digest(given.encode(), self.token.encode())
        )

    def session_ok(self, cookie: str | None) -> bool:
        return self.token is None or (
            cookie is not None
            and hmac.compare_digest(cookie.encode(), self.session_value().encode())
        )


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return (
        bool(cookie)
        and bool(submitted)
        and hmac.compare_digest(str(cookie).encode(), str(submitted).encode())
    )


def cross_site(headers: Any, host: str | None) -> bool:
    """Whether a request says it comes from another site (Origin, or Sec-Fetch-Site)."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != (host or "").lower()


def host_allowed(host_header: str | None, allowed: frozenset[str] | None) -> bool:
    if allowed is None:
        return True
    if not host_header:
        return False
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    return name.lower() in allowed


class BodyLimit:
    """ASGI middleware: a declared or streamed body over ``limit`` bytes is refused with 413
    and the application never sees it, so nothing is written."""

    def __init__(self, app: App, limit: int, too_large: Callable[[int], Any]) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size > self.limit or size < 0:
                await self.too_large(self.limit)(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HttpProblem(413, *too_large_text(self.limit))
            return message

        await self.app(scope, counted, send)


def too_large_text(limit: int) -> tuple[str, str]:
    return (
        f"request body over the limit of {limit} bytes",
        "send less, or start the server with a larger --max-body",
    )
