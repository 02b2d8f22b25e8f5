"""Who is calling: the signed-in user, and guards for each role."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth_service
from app.clinics.models import Role, User
from app.db import SessionDep
from app.errors import Forbidden, NotAuthenticated
from app.web.csrf import SESSION_COOKIE


@dataclass(frozen=True)
class SignedIn:
    """Who is signed in, as pages show it."""

    id: int
    login: str
    role: str
    display_name: str
    clinic_id: int


def get_current_user(request: Request, session: SessionDep) -> User:
    """The user of the session cookie; 401 (or the sign-in page) when there is none."""
    token = request.cookies.get(SESSION_COOKIE)
    user = (
        auth_service.resolve_session(session, token=token, settings=request.app.state.settings)
        if token
        else None
    )
    if user is None:
        raise NotAuthenticated("Please sign in.")
    # A plain copy for templates and middleware: it outlives the request's database session.
    request.state.user = SignedIn(
        id=user.id or 0,
        login=user.login,
        role=user.role.value,
        display_name=user.display_name,
        clinic_id=user.clinic_id,
    )
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
