"""Cross-site request forgery defences: a same-origin check on every unsafe request and a
per-session token in every HTML form."""

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import JSONResponse, Response

from app.errors import Forbidden

SESSION_COOKIE = "tend_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(request: Request) -> str:
    """An HMAC of the session cookie: valid for this session only, nothing to store."""
    secret = request.app.state.settings.secret_key.encode()
    session_token = request.cookies.get(SESSION_COOKIE, "anonymous")
    return hmac.new(secret, session_token.encode(), hashlib.sha256).hexdigest()


def verify_csrf_form(
    request: Request, csrf_token_field: str = Form("", alias="csrf_token")
) -> None:
    """Dependency for HTML form posts: the hidden token must match this session's."""
    if not hmac.compare_digest(csrf_token_field, csrf_token(request)):
        raise Forbidden("This form has expired. Please go back, reload the page and try again.")


def _same_origin(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        # Non-browser clients (curl, the CLI, tests) send neither header; a browser always does.
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def same_origin_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Refuse state-changing requests that a browser says came from another site."""
    if request.method not in _SAFE_METHODS and not _same_origin(request):
        return JSONResponse({"detail": "Cross-site request refused."}, status_code=403)
    return await call_next(request)
