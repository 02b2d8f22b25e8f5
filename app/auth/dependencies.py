"""Who is calling: the signed-in user, and guards for each role."""

from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth_service
from app.clinics.models import Role, User
from app.db import open_lookup_session, open_session
from app.errors import Forbidden, NotAuthenticated
from app.i18n import DEFAULT_LANGUAGE, N_, choose_language
from app.web.csrf import session_token


def get_current_user(request: Request) -> User:
    """The user of the session cookie; 401 (or the sign-in page) when there is none.

    Looked up in a short session of its own, not the request's: on SQLite a write
    request's transaction holds the database's write lock, and it should begin only when the
    route starts its own work. The user comes back detached, every column loaded. For a
    patient the same lookup finds their place in a group (enrolment, group, clinic), which
    the `Patient` loader reads from ``request.state.placement``: one lookup, not two, on
    every patient request.
    """
    token = session_token(request)
    user = _signed_in_user(request, token) if token else None
    if user is None:
        raise NotAuthenticated(N_("Please sign in."))
    request.state.user = user
    return user


def _signed_in_user(request: Request, token: str) -> User | None:
    engine = request.app.state.engine
    with open_lookup_session(engine) as session:
        signed_in = auth_service.resolve_session_for_read(
            session, token=token, settings=request.app.state.settings
        )
    if signed_in is None:
        return None
    request.state.placement = signed_in.placement
    request.state.language = signed_in.language
    if signed_in.stale:
        with open_session(engine, write=True) as touch:
            auth_service.touch_session(touch, token=token)
            touch.commit()
    return signed_in.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def their_language(request: Request) -> str:
    """The signed-in person's language (theirs, else their clinic's, else English), for the
    programme content and questionnaires the JSON API gives in it: the API's own messages stay
    English, but a Welsh patient's app shows their programme in Welsh. Call after the person
    is known (a Patient or CurrentUser dependency)."""
    return getattr(request.state, "language", None) or DEFAULT_LANGUAGE


async def speak_their_language(request: Request, user: CurrentUser) -> None:
    """Word the request in the signed-in person's language (theirs, else their clinic's).

    Async on purpose: a sync dependency runs in a worker thread, and the language it set
    would be lost with that thread's context; this one runs in the request's own task. With
    no choice made, the browser's language (set by LanguageMiddleware) stands.
    """
    language = getattr(request.state, "language", None)
    if language:
        choose_language(language)


# The role guards below are async only because they do no I/O: FastAPI then runs them on
# the event loop instead of handing each to a worker thread.


async def require_patient(user: CurrentUser) -> User:
    """Only patients."""
    return patient_only(user)


def patient_only(user: User) -> User:
    """``user`` if they are a patient; 403 for staff (for loaders that guard on their own)."""
    if user.role != Role.patient:
        raise Forbidden(N_("This is part of the patient app."))
    return user


async def require_staff(user: CurrentUser) -> User:
    """Only staff (facilitators, clinicians, admins)."""
    if not user.is_staff:
        raise Forbidden(N_("This page is for clinic staff."))
    return user


async def require_clinician(user: CurrentUser) -> User:
    """Clinicians and admins: people who see the whole clinic's data."""
    if user.role not in (Role.clinician, Role.admin):
        raise Forbidden(N_("Only clinicians and admins can do this."))
    return user


PatientUser = Annotated[User, Depends(require_patient)]
StaffUser = Annotated[User, Depends(require_staff)]
ClinicianUser = Annotated[User, Depends(require_clinician)]


async def require_admin(user: CurrentUser) -> User:
    """Only admins."""
    if user.role != Role.admin:
        raise Forbidden(N_("Only admins can do this."))
    return user


AdminUser = Annotated[User, Depends(require_admin)]
