"""Sign-in, sign-out and invite pages for people."""

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.api import WRONG_CREDENTIALS
from app.auth.cookies import clear_session_cookie, set_session_cookie
from app.clinics.models import User
from app.db import SessionDep
from app.errors import InvalidInput, TooManyRequests
from app.security.dependencies import client_address, limit_invite, limit_sign_in
from app.web.csrf import session_token, verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
CsrfChecked = Depends(verify_csrf_form)


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    return "/today" if user.role == "patient" else "/groups"


def _safe_next(target: str | None) -> str | None:
    # Only local paths: an open redirect would let a phishing link borrow our sign-in page.
    return target if target and target.startswith("/") and not target.startswith("//") else None


def _signed_in(request: Request, session: SessionDep, user: User, target: str) -> Response:
    token = auth_service.start_session(session, user=user, settings=request.app.state.settings)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token=token, user=user)
    return response


def _refused(
    request: Request,
    page: str,
    context: Mapping[str, object],
    error: TooManyRequests,
    *,
    field: str,
) -> Response:
    """The form again, with the rate-limit message next to the field and Retry-After set."""
    response = render(request, page, {**context, "errors": {field: error.message}}, 429)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "auth/login.html", {"next": _safe_next(next), "form": {}})


@router.post("/login", dependencies=[CsrfChecked])
def login_submit(
    request: Request,
    session: SessionDep,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        limit_sign_in(request, login=login)
    except TooManyRequests as error:
        context = {"next": _safe_next(next), "form": {"login": login}}
        return _refused(request, "auth/login.html", context, error, field="password")
    user = auth_service.authenticate(session, login=login, password=password)
    if user is None:
        auth_service.record_failed_sign_in(
            session,
            login=login,
            address=client_address(request),
            settings=request.app.state.settings,
        )
        context = {
            "next": _safe_next(next),
            "form": {"login": login},
            "errors": {"password": WRONG_CREDENTIALS},
        }
        return render(request, "auth/login.html", context, status_code=401)
    audit.record(session, action="sign_in", actor=user)
    return _signed_in(request, session, user, _safe_next(next) or home_for(user))


@router.post("/logout", dependencies=[CsrfChecked])
def logout_submit(
    request: Request, session: SessionDep, keep_unsent: Annotated[str, Form()] = ""
) -> Response:
    token = session_token(request)
    if token:
        auth_service.end_session(session, token=token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response, keep_unsent=bool(keep_unsent))
    return response


@router.get("/join")
def join_page(request: Request, code: str = "") -> Response:
    return render(request, "auth/join.html", {"form": {"code": code}})


@router.post("/join", dependencies=[CsrfChecked])
def join_submit(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        limit_invite(request, code=code)
    except TooManyRequests as error:
        return _refused(request, "auth/join.html", {"form": {"code": code}}, error, field="code")
    try:
        with session.begin_nested():
            user = auth_service.redeem_invite(session, code=code, passphrase=password)
    except InvalidInput as error:
        context = {"form": {"code": code}, "errors": {error.field or "code": error.message}}
        return render(request, "auth/join.html", context, status_code=422)
    audit.record(session, action="invite_redeemed", actor=user)
    return _signed_in(request, session, user, home_for(user))
