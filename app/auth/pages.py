"""Sign-in, sign-out and invite pages for people."""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.api import WRONG_CREDENTIALS
from app.auth.cookies import clear_session_cookie, set_session_cookie
from app.clinics.models import User
from app.consent import service as consent_service
from app.db import SessionDep
from app.errors import InvalidInput, TooManyRequests
from app.i18n import gettext
from app.security.dependencies import client_address, limit_invite, limit_sign_in
from app.web.csrf import session_token, verify_csrf_form
from app.web.forms import FormFields
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
    errors = {field: gettext(error.message)}
    response = render(request, page, {**context, "errors": errors}, 429)
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
            "errors": {"password": gettext(WRONG_CREDENTIALS)},
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
    # The code first: what comes next (a clinic's information sheet) depends on whose it is.
    return render(request, "auth/join.html", {"form": {"code": code}, "code_only": True})


def _checked_code_proof(request: Request, code: str) -> str:
    """What the second step carries to show the first found this code valid (unforgeable
    without the server's key, so it cannot skip the limits for a guessed code)."""
    cleaned = code.upper().replace("-", "").replace(" ", "")
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, b"join-code-checked:" + cleaned.encode(), hashlib.sha256).hexdigest()


@router.post("/join", dependencies=[CsrfChecked])
def join_submit(
    request: Request,
    session: SessionDep,
    fields: FormFields,
    code: Annotated[str, Form()] = "",
) -> Response:
    context: dict[str, object] = {"form": {"code": code}}
    proof = _checked_code_proof(request, code)
    try:
        # A code the first step found valid counts once against the limits, not twice: a
        # whole group joining on the clinic's Wi-Fi shares one address.
        if not hmac.compare_digest(fields.get("code_checked", "").encode(), proof.encode()):
            limit_invite(request, code=code)
    except TooManyRequests as error:
        return _refused(request, "auth/join.html", context, error, field="code")
    try:
        with session.begin_nested():
            document = consent_service.document_for_invitee(
                session, patient=auth_service.invitee(session, code=code)
            )
            context["consent"] = document
            context["code_checked"] = proof
            if "password" not in fields:  # the code step: the sheet and the passphrase next
                return render(request, "auth/join.html", context)
            context["form"] = {"code": code, **fields}
            answers = consent_service.answers_from_form(document, fields) if document else {}
            if document:  # the statements first: they come before the passphrase on the page
                consent_service.check_required(document, answers)
            user = auth_service.redeem_invite(
                session, code=code, passphrase=fields.get("password", "")
            )
            if document:
                consent_service.record_consent(
                    session, patient=user, document=document, answers=answers
                )
    except InvalidInput as error:
        context["errors"] = {error.field or "code": gettext(error.message)}
        context["code_only"] = "consent" not in context
        return render(request, "auth/join.html", context, status_code=422)
    audit.record(session, action="invite_redeemed", actor=user)
    return _signed_in(request, session, user, home_for(user))
