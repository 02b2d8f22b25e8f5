"""Before anyone is known: pages are worded in the language the browser asks for.

The signed-in person's own choice, or their clinic's default, replaces it once they are known
(`speak_their_language` in app/auth/dependencies.py). The JSON API stays English.
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.i18n import DEFAULT_LANGUAGE, choose_language, negotiate


class LanguageMiddleware:
    """Choose each page request's language from ``Accept-Language`` (else English)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/api/"):
            # Each request runs in a task of its own, so the choice ends with the request.
            choose_language(negotiate(Headers(scope=scope).get("accept-language")))
        else:
            choose_language(DEFAULT_LANGUAGE)
        await self.app(scope, receive, send)
