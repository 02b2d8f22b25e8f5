"""Rate limits at the web boundary.

Sign-in and invite attempts are counted in their own short transaction *before* the request's
session does anything: a failed attempt rolls the request back, and the count must survive
that (and on SQLite the request's write lock must not be held yet). Exports are counted in
the request's own session: they are signed in already, and a refused export changes nothing.
"""

from time import sleep
from typing import Annotated

from fastapi import Depends, Request

from app.auth.cookies import known_device
from app.auth.dependencies import ClinicianUser
from app.db import SessionDep, open_session
from app.security import limits
from app.security import service as security_service
from app.security.service import Limit


def client_address(request: Request) -> str:
    """The caller's address (uvicorn sets it from X-Forwarded-For only for trusted proxies)."""
    return request.client.host if request.client else "unknown"


def enforce_before_work(request: Request, limit_list: list[Limit]) -> None:
    """Count one attempt in a separate committed transaction, or raise TooManyRequests."""
    with open_session(request.app.state.engine, write=True) as session:
        security_service.enforce(session, limits=limit_list)
        session.commit()


def limit_sign_in(request: Request, *, login: str) -> None:
    """Call first thing in a sign-in route: refuse this address (or remembered browser) when
    it has guessed too often, counting refusals too; slow down, never refuse, an account
    that many are trying, unless this browser has signed in to it before."""
    settings = request.app.state.settings
    device = known_device(request, login=login)
    refusing = limits.sign_in_limits(
        settings, login=login, address=client_address(request), device=device
    )
    slowdown = limits.sign_in_slowdown(settings, login=login)
    with open_session(request.app.state.engine, write=True) as session:
        try:
            security_service.enforce(session, limits=refusing, count_refused=True)
        except security_service.TooManyRequests:
            session.commit()
            raise
        slow = device is None and security_service.reached(session, slowdown)
        security_service.count(session, limits=[slowdown])
        session.commit()
    if slow:
        sleep(settings.login_slowdown_seconds)  # a sync route: only this thread waits


def limit_invite(request: Request, *, code: str) -> None:
    """Call first thing in an invite-redemption route."""
    settings = request.app.state.settings
    enforce_before_work(
        request, limits.invite_limits(settings, code=code, address=client_address(request))
    )


def limit_exports(request: Request, user: ClinicianUser, session: SessionDep) -> None:
    """Dependency for every export route: per clinician and per address."""
    assert user.id is not None
    security_service.enforce(
        session,
        limits=limits.export_limits(
            request.app.state.settings, user_id=user.id, address=client_address(request)
        ),
    )


ExportRateLimited = Annotated[None, Depends(limit_exports)]
