"""Staff accounts on the web: the admin's staff page, one's own passphrase, a forgotten one."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import service as auth_service
from app.auth.cookies import set_session_cookie
from app.auth.dependencies import AdminUser, StaffUser
from app.clinics import service as clinics_service
from app.clinics import staff as staff_service
from app.clinics.models import Role, User
from app.db import SessionDep
from app.errors import AppError, InvalidInput, NotFound, TooManyRequests
from app.i18n import SUPPORTED_LANGUAGES, gettext
from app.security.dependencies import limit_sign_in
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
public_router = APIRouter(tags=["pages"])
CsrfChecked = [Depends(verify_csrf_form)]
STAFF_ROLES_OFFERED = (Role.facilitator, Role.clinician, Role.admin)


def _site_url(request: Request) -> str:
    return request.app.state.settings.public_url or str(request.base_url)


# --- The admin's staff page ---


def _staff_page(
    request: Request,
    session: SessionDep,
    admin: User,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    issued: staff_service.IssuedLink | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "clinic": clinics_service.get_clinic(session, admin.clinic_id),
        "members": staff_service.list_staff(session, clinic_id=admin.clinic_id),
        "roles": STAFF_ROLES_OFFERED,
        "form": form or {},
        "errors": errors or {},
        "issued": issued,
        "notice": notice,
        "hours": request.app.state.settings.staff_invite_valid_hours,
        "smtp": bool(request.app.state.settings.smtp_url),
    }
    return render(request, "clinics/staff.html", context, status_code)


@router.get("/admin/staff")
def staff_page(request: Request, admin: AdminUser, session: SessionDep) -> Response:
    return _staff_page(request, session, admin)


@router.post("/admin/staff", dependencies=CsrfChecked)
def invite_submit(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    form = {"email": email, "role": role, "name": name}
    try:
        with session.begin_nested():
            chosen = Role(role) if role in {r.value for r in STAFF_ROLES_OFFERED} else None
            if chosen is None:
                raise InvalidInput("Choose a role.", field="role")
            issued = staff_service.invite_staff(
                session,
                clinic=clinics_service.get_clinic(session, admin.clinic_id),
                email=email,
                role=chosen,
                display_name=name,
                actor=admin,
                settings=request.app.state.settings,
                site_url=_site_url(request),
            )
    except InvalidInput as error:
        errors = {error.field or "email": error.message}
        return _staff_page(request, session, admin, form=form, errors=errors, status_code=422)
    return _staff_page(request, session, admin, issued=issued)


@router.post("/admin/staff/{user_id}/reset", dependencies=CsrfChecked)
def reset_submit(request: Request, user_id: int, admin: AdminUser, session: SessionDep) -> Response:
    member = _member(session, admin, user_id)
    issued = staff_service.reset_staff(
        session,
        user=member,
        actor=admin,
        settings=request.app.state.settings,
        site_url=_site_url(request),
    )
    return _staff_page(request, session, admin, issued=issued)


@router.post("/admin/staff/{user_id}/deactivate", dependencies=CsrfChecked)
def deactivate_submit(
    request: Request, user_id: int, admin: AdminUser, session: SessionDep
) -> Response:
    member = _member(session, admin, user_id)
    staff_service.deactivate_staff(session, user=member, actor=admin)
    notice = f"{member.login} is deactivated: signed out everywhere, links revoked."
    return _staff_page(request, session, admin, notice=notice)


def _member(session: SessionDep, admin: User, user_id: int) -> User:
    """A staff account of the admin's own clinic (another clinic's is a 404)."""
    for member in staff_service.list_staff(session, clinic_id=admin.clinic_id):
        if member.user.id == user_id:
            return member.user
    raise NotFound("No such staff account in your clinic.")


# --- One's own passphrase ---


def _account_page(request: Request, status_code: int = 200, **context: object) -> Response:
    full = {"errors": {}, "languages": SUPPORTED_LANGUAGES, **context}
    return render(request, "clinics/account.html", full, status_code)


@router.get("/account")
def account_page(
    request: Request, user: StaffUser, changed: bool = False, language_saved: bool = False
) -> Response:
    return _account_page(request, changed=changed, language_saved=language_saved)


@router.post("/account/language", dependencies=CsrfChecked)
def account_language_submit(
    request: Request, user: StaffUser, session: SessionDep, language: Annotated[str, Form()] = ""
) -> Response:
    """Choose the language Tend speaks to this member of staff."""
    assert user.id is not None
    try:
        clinics_service.set_language(session, user_id=user.id, language=language)
    except InvalidInput as error:
        return _account_page(request, 422, errors={"language": gettext(error.message)})
    return RedirectResponse("/account?language_saved=1", status_code=303)


@router.post("/account", dependencies=CsrfChecked)
def account_submit(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    """Change one's passphrase; every other session of this account ends."""
    try:
        # A wrong current passphrase counts as a failed sign-in (a stolen session is no
        # shortcut to guessing it).
        limit_sign_in(request, login=user.login)
        with session.begin_nested():
            staff_service.change_passphrase(
                session, user=user, current=current_password, new=new_password
            )
    except AppError as error:
        errors = {error.field or "new_password": error.message}
        status = 429 if isinstance(error, TooManyRequests) else 422
        return _account_page(request, status, errors=errors)
    # This browser stays signed in with a fresh session; the others were ended.
    token = auth_service.start_session(session, user=user, settings=request.app.state.settings)
    response = RedirectResponse("/account?changed=1", status_code=303)
    set_session_cookie(request, response, token=token, user=user)
    return response


# --- A forgotten passphrase (public) ---


@public_router.get("/forgot")
def forgot_page(request: Request) -> Response:
    smtp = bool(request.app.state.settings.smtp_url)
    return render(request, "clinics/forgot.html", {"smtp": smtp, "form": {}, "sent": False})


@public_router.post("/forgot", dependencies=CsrfChecked)
def forgot_submit(
    request: Request, session: SessionDep, email: Annotated[str, Form()] = ""
) -> Response:
    """Email a new link when SMTP is set; the answer is the same whether or not the address
    has an account."""
    settings = request.app.state.settings
    try:
        limit_sign_in(request, login=email)  # counted like sign-in attempts on that account
    except TooManyRequests as error:
        errors = {"email": error.message}
        context = {"smtp": True, "form": {"email": email}, "sent": False, "errors": errors}
        return render(request, "clinics/forgot.html", context, 429)
    if settings.smtp_url and email.strip():
        staff_service.request_reset_by_email(
            session, email=email, settings=settings, site_url=_site_url(request)
        )
    context = {"smtp": bool(settings.smtp_url), "form": {"email": email}, "sent": True}
    return render(request, "clinics/forgot.html", context)
