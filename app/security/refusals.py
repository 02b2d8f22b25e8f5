"""Refused requests (401, 403, 429) are recorded after the request is over: a signed-in
caller's as one audit event each, an anonymous caller's as a counter per address and hour
(``refusal_count``), so noise from the internet cannot fill the append-only trail.

The request's own transaction is rolled back when it fails, so the record is written in a
separate short transaction once the answer exists; a failure to write it never changes the
answer the caller gets.
"""

import logging

from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.audit import service as audit
from app.clinics.models import User
from app.db import open_session
from app.security import service as security_service

logger = logging.getLogger(__name__)
REFUSED = frozenset({401, 403, 429})
# Wrong passwords are audited by the sign-in route itself, with more context.
_AUDITED_ELSEWHERE = frozenset({("POST", "/api/v1/auth/login"), ("POST", "/login")})


def _record(
    engine: Engine, *, actor: User | None, address: str, method: str, path: str, status: int
) -> None:
    with open_session(engine, write=True) as session:
        if actor is None:
            security_service.count_refusal(session, address=address, status=status)
        else:
            audit.record(
                session,
                action="rate_limited" if status == 429 else "access_refused",
                actor=actor,
                method=method,
                path=path[:200],
                status=status,
            )
        session.commit()


class AuditRefusalsMiddleware:
    """Record every refused authorisation or rate-limited attempt (pure ASGI: it only watches
    the status line go past, so it adds almost nothing to answers that are not refused)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        method, path = scope["method"], scope["path"]
        if status in REFUSED and (status == 429 or (method, path) not in _AUDITED_ELSEWHERE):
            request = Request(scope)
            try:
                await run_in_threadpool(
                    _record,
                    request.app.state.engine,
                    actor=getattr(request.state, "user", None),
                    address=request.client.host if request.client else "unknown",
                    method=method,
                    path=path,
                    status=status,
                )
            except Exception:  # the audit write failing must not turn a 403 into a 500
                logger.exception("could not record a refused request")
