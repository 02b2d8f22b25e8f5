"""Who is calling: the signed-in user, and guards for each role."""

from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth_service
from app.clinics.models import Role, User
from app.db import SessionDep, open_session
from app.errors import Forbidden, NotAuthenticated
from app.web.csrf import SESSION_COOKIE

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_current_user(request: Request, session: SessionDep) -> User:
    """The user of the session cookie; 401 (or the sign-in page) when there is none."""
    token = request.cookies.get(SESSION_COOKIE)
    settings = request.app.state.settings
    user = None
    if token and request.method in _READS:
        user, stale = auth_service.resolve_session_for_read(session, token=token, settings=settings)
        if user is not None and stale:
            # A separate short write: the request's own transaction stays a read.
            with open_session(request.app.state.engine, write=True) as touch:
                auth_service.touch_session(touch, token=token)
                touch.commit()
            # That write came after this request's read began. End the read, or on SQLite a
            # write later in the request (an audit event) finds it stale: "database is locked".
            session.commit()
    elif token:
        user = auth_service.resolve_session(session, token=token, settings=settings)
    if user is None:
        raise NotAuthenticated("Please sign in.")
    # A detached copy for templates, headers and the audit of refusals: the session's own
    # instance is expired when a failing request rolls back, before its error page renders.
    request.state.user = User(**user.model_dump())
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_patient(user: CurrentUser) -> User:
    """Only patients."""
    if user.role != Role.patient:
        raise Forbidden("This is part of the patient app.")
    return user


def require_staff(user: CurrentUser) -> User:
    """Only staff (facilitators, clinicians, admins)."""
    if not user.is_staff:
        raise Forbidden("This page is for clinic staff.")
    return user


def require_clinician(user: CurrentUser) -> User:
    """Clinicians and admins: people who see the whole clinic's data."""
    if user.role not in (Role.clinician, Role.admin):
        raise Forbidden("Only clinicians and admins can do this.")
    return user


PatientUser = Annotated[User, Depends(require_patient)]
StaffUser = Annotated[User, Depends(require_staff)]
ClinicianUser = Annotated[User, Depends(require_clinician)]


def require_admin(user: CurrentUser) -> User:
    """Only admins."""
    if user.role != Role.admin:
        raise Forbidden("Only admins can do this.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]
