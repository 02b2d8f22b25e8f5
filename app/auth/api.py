"""Sign-in and sign-out for the JSON API (CONTRACT: /api/v1/auth/*)."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.cookies import clear_session_cookie, set_session_cookie
from app.auth.dependencies import CurrentUser
from app.auth.schemas import LoginRequest, Me, RedeemInviteRequest, SignedIn
from app.clinics.models import User
from app.consent import service as consent_service
from app.db import SessionDep
from app.i18n import N_
from app.security.dependencies import client_address, limit_invite, limit_sign_in
from app.web.csrf import csrf_token_for, session_token

public_router = APIRouter(prefix="/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])

WRONG_CREDENTIALS = N_("That login and password do not match an account. Please try again.")


def _me(user: User) -> Me:
    assert user.id is not None
    return Me(id=user.id, login=user.login, role=user.role.value, display_name=user.display_name)


def _signed_in(request: Request, user: User, token: str) -> JSONResponse:
    csrf = csrf_token_for(request.app.state.settings.secret_key, token)
    response = JSONResponse(SignedIn(**_me(user).model_dump(), csrf_token=csrf).model_dump())
    set_session_cookie(request, response, token=token, user=user)
    return response


@public_router.post(
    "/login",
    response_model=SignedIn,
    responses={401: {"description": "Wrong login"}, 429: {"description": "Too many attempts"}},
)
def login(body: LoginRequest, request: Request, session: SessionDep) -> Response:
    """Sign in; sets the session cookie."""
    limit_sign_in(request, login=body.login)
    user = auth_service.authenticate(session, login=body.login, password=body.password)
    if user is None:
        auth_service.record_failed_sign_in(
            session,
            login=body.login,
            address=client_address(request),
            settings=request.app.state.settings,
        )
        return JSONResponse({"detail": WRONG_CREDENTIALS}, status_code=401)
    token = auth_service.start_session(session, user=user, settings=request.app.state.settings)
    audit.record(session, action="sign_in", actor=user)
    return _signed_in(request, user, token)


@public_router.post(
    "/invite", response_model=SignedIn, responses={429: {"description": "Too many attempts"}}
)
def redeem_invite(body: RedeemInviteRequest, request: Request, session: SessionDep) -> Response:
    """Use an invite code to set a passphrase, and sign in."""
    limit_invite(request, code=body.code)
    document = consent_service.document_for_invitee(
        session, patient=auth_service.invitee(session, code=body.code)
    )
    if document:  # refused before anything is stored when a required statement is missing
        consent_service.check_required(document, body.consents)
    user = auth_service.redeem_invite(session, code=body.code, passphrase=body.password)
    if document:
        consent_service.record_consent(
            session, patient=user, document=document, answers=body.consents
        )
    token = auth_service.start_session(session, user=user, settings=request.app.state.settings)
    audit.record(session, action="invite_redeemed", actor=user)
    return _signed_in(request, user, token)


@public_router.post("/logout", status_code=204)
def logout(request: Request, session: SessionDep) -> Response:
    """End this session on the server and forget the cookie."""
    token = session_token(request)
    if token:
        auth_service.end_session(session, token=token)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> Me:
    """Who is signed in."""
    return _me(user)
