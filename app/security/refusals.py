"""Refused requests (401, 403, 429) leave an audit event, written after the request is over.

The request's own transaction is rolled back when it fails, so the event is written in a
separate short transaction once the answer exists; a failure to write it never changes the
answer the caller gets.
"""

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from app.audit import service as audit
from app.clinics.models import User
from app.db import open_session

logger = logging.getLogger(__name__)
REFUSED = frozenset({401, 403, 429})
# Wrong passwords are audited by the sign-in route itself, with more context.
_AUDITED_ELSEWHERE = frozenset({("POST", "/api/v1/auth/login"), ("POST", "/login")})


def _record(engine: Engine, *, actor: User | None, method: str, path: str, status: int) -> None:
    with open_session(engine, write=True) as session:
        audit.record(
            session,
            action="rate_limited" if status == 429 else "access_refused",
            actor=actor,
            method=method,
            path=path[:200],
            status=status,
        )
        session.commit()


async def audit_refusals_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Record every refused authorisation or rate-limited attempt."""
    response = await call_next(request)
    status = response.status_code
    if status in REFUSED and (
        status == 429 or (request.method, request.url.path) not in _AUDITED_ELSEWHERE
    ):
        try:
            await run_in_threadpool(
                _record,
                request.app.state.engine,
                actor=getattr(request.state, "user", None),
                method=request.method,
                path=request.url.path,
                status=status,
            )
        except Exception:  # the audit write failing must not turn a 403 into a 500
            logger.exception("could not record a refused request")
    return response
