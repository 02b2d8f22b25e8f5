"""In the test environment only: say which worker process answered (X-Tend-Worker), so the
scale-out test can show that several processes served one session."""

import os

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class WorkerIdMiddleware:
    """Add the answering process's id to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.worker = str(os.getpid())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Tend-Worker", self.worker)
            await send(message)

        await self.app(scope, receive, send_with_worker if scope["type"] == "http" else send)
