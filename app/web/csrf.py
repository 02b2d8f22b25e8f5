"""Cross-site request forgery defences: a same-origin check on every unsafe request, a
per-session token in every HTML form, and the same token in an ``X-CSRF-Token`` header on
every unsafe cookie-authenticated JSON API call (scripts read it from
``<meta name="csrf-token">``; sign-in and invite answers carry it as ``csrf_token``).
Before a session exists (the sign-in and invite forms) the token is bound to a random
pre-session cookie instead, so one browser's token is worthless in another.

Over HTTPS both cookies carry the ``__Host-`` prefix: the browser then accepts them only
with ``Secure``, ``Path=/`` and no ``Domain``, so no sibling subdomain can plant one."""

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import Forbidden
from app.i18n import N_

SESSION_COOKIE = "tend_session"
PRESESSION_COOKIE = "tend_presession"
HOST_PREFIX = "__Host-"
PRESESSION_PREFIX = "pre-session:"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Before these there is no session to bind a token to (sign-out is harmless to force).
API_CSRF_EXEMPT = frozenset({"/api/v1/auth/login", "/api/v1/auth/invite", "/api/v1/auth/logout"})


def csrf_token_for(secret_key: str, session_token: str) -> str:
    """The token belonging to a session token (for answers that set a new cookie)."""
    return hmac.new(secret_key.encode(), session_token.encode(), hashlib.sha256).hexdigest()


def _cookie_name(request: Request, name: str) -> str:
    return HOST_PREFIX + name if request.url.scheme == "https" else name


def session_cookie_name(request: Request) -> str:
    """The session cookie's name: ``__Host-`` prefixed over HTTPS."""
    return _cookie_name(request, SESSION_COOKIE)


def session_token(request: Request) -> str | None:
    """The session token the browser sent, if any."""
    return request.cookies.get(session_cookie_name(request))


def _presession(request: Request) -> str:
    """This browser's pre-session value; a new one (set on the answer by ``render``) if none."""
    value = request.cookies.get(_cookie_name(request, PRESESSION_COOKIE))
    if not value:
        value = getattr(request.state, "new_presession", None) or secrets.token_urlsafe(24)
        request.state.new_presession = value
    return value


def set_presession_cookie(request: Request, response: Response) -> None:
    """Give the browser the pre-session cookie its forms' tokens were made for."""
    value = getattr(request.state, "new_presession", None)
    if value:
        response.set_cookie(
            _cookie_name(request, PRESESSION_COOKIE),
            value,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def csrf_token(request: Request) -> str:
    """An HMAC of the session cookie (or, before sign-in, of the pre-session cookie): valid
    for this browser's session only, nothing to store."""
    token = session_token(request) or PRESESSION_PREFIX + _presession(request)
    return csrf_token_for(request.app.state.settings.secret_key, token)


def verify_csrf_form(
    request: Request, csrf_token_field: str = Form("", alias="csrf_token")
) -> None:
    """Dependency for HTML form posts: the hidden token must match this session's."""
    if not _same_token(csrf_token_field, csrf_token(request)):
        raise Forbidden(N_("This form has expired. Please go back, reload the page and try again."))


def _same_origin(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        # Non-browser clients (curl, the CLI, tests) send neither header; a browser always does.
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


class SameOriginMiddleware:
    """Refuse state-changing requests that a browser says came from another site, and
    cookie-authenticated API writes without the session's token (pure ASGI: the body
    passes through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            refusal = _refusal(Request(scope))
            if refusal is not None:
                await JSONResponse({"detail": refusal}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(request: Request) -> str | None:
    if not _same_origin(request):
        return "Cross-site request refused."
    if not _api_token_ok(request):
        return f"Missing or wrong {CSRF_HEADER} header. Reload the page and retry."
    return None


def _api_token_ok(request: Request) -> bool:
    """Unsafe JSON API calls riding on the session cookie must echo the session's token."""
    path = request.scope["path"]
    if not path.startswith("/api/") or path in API_CSRF_EXEMPT:
        return True
    if session_token(request) is None:
        return True  # nothing ambient to abuse: the route answers 401 by itself
    return _same_token(request.headers.get(CSRF_HEADER, ""), csrf_token(request))


def _same_token(given: str, expected: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII text, and junk must be a 403, not a 500.
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())
