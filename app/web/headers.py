"""Security headers on every response."""

import hashlib
import hmac

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.assets import inline_script_source, inline_style_source


def content_security_policy() -> str:
    """Everything from our own origin; inline, only the stylesheet every page carries and the
    loader that fetches a page's scripts after its first paint, each by its hash
    (app/web/assets.py)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {inline_script_source()}",
            f"style-src 'self' {inline_style_source()}",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Add CSP and friends; keep signed-in pages and API answers out of every cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(MutableHeaders(scope=message), scope)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_headers(headers: MutableHeaders, scope: Scope) -> None:
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if scope["scheme"] == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    # request.state keeps its attributes in scope["state"]; the user is set by authentication.
    user = scope.get("state", {}).get("user")
    if user is not None:
        headers.setdefault("Cache-Control", "no-store")
        secret = scope["app"].state.settings.secret_key
        headers.setdefault(PERSON_HEADER, person_key(secret, user.id))


# The service worker files the pages it keeps offline under this key and serves them to no
# one else: a different key (another patient signed in on the phone) empties the old cache.
PERSON_HEADER = "X-Tend-Person"


def person_key(secret_key: str, user_id: int) -> str:
    """An opaque, stable key for one account on this server (not its id or login)."""
    message = f"offline-pages:{user_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:24]
