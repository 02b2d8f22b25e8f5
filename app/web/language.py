"""Before anyone is known: pages are worded in the language the browser asks for.

The signed-in person's own choice, or their clinic's default, replaces it once they are known
(`speak_their_language` in app/auth/dependencies.py). The JSON API stays English.
"""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import DEFAULT_LANGUAGE, choose_language, negotiate


class LanguageMiddleware:
    """Choose each page request's language from ``Accept-Language`` (else English)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            choose_language(DEFAULT_LANGUAGE)
            await self.app(scope, receive, send)
            return
        # Each request runs in a task of its own, so the choice ends with the request.
        choose_language(negotiate(Headers(scope=scope).get("accept-language")))

        async def send_varying(message: Message) -> None:
            headers = (
                MutableHeaders(scope=message) if message["type"] == "http.response.start" else None
            )
            # A shared cache must not hand a Welsh sign-in page to an English browser. Only
            # pages are worded; scripts and styles must not vary, or the phone's offline copy
            # of one is not found for a request that differs in the header.
            if headers is not None and headers.get("content-type", "").startswith("text/html"):
                vary = headers.get("vary", "")
                headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
            await send(message)

        await self.app(scope, receive, send_varying)
