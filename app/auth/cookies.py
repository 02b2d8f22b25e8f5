"""The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS; and the device cookie, which
remembers that this browser has signed in to an account before (rate limits trust it)."""

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from app.auth.service import normalise_login
from app.clinics.models import Role, User
from app.web.csrf import session_cookie_name

DEVICE_COOKIE = "tend_device"
_DEVICE_DAYS = 365


def _device_signature(secret_key: str, nonce: str, login: str) -> str:
    message = f"device:{nonce}:{normalise_login(login)}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def remember_device(request: Request, response: Response, *, user: User) -> None:
    """Mark this browser as one that signed in to ``user`` (long-lived, HttpOnly)."""
    nonce = secrets.token_urlsafe(12)
    signature = _device_signature(request.app.state.settings.secret_key, nonce, user.login)
    response.set_cookie(
        DEVICE_COOKIE,
        f"{nonce}.{signature}",
        max_age=_DEVICE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def known_device(request: Request, *, login: str) -> str | None:
    """This browser's device id if it signed in to ``login`` before, else None."""
    nonce, _, signature = request.cookies.get(DEVICE_COOKIE, "").partition(".")
    if not nonce or not signature:
        return None
    expected = _device_signature(request.app.state.settings.secret_key, nonce, login)
    return nonce if hmac.compare_digest(signature, expected) else None


def set_session_cookie(request: Request, response: Response, *, token: str, user: User) -> None:
    """Give the browser its session; a patient's phone keeps it across restarts."""
    settings = request.app.state.settings
    max_age = settings.patient_session_days * 86400 if user.role == Role.patient else None
    response.set_cookie(
        session_cookie_name(request),
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    remember_device(request, response, user=user)


def clear_session_cookie(
    request: Request, response: Response, *, keep_unsent: bool = False
) -> None:
    """Remove the session cookie and ask the browser to forget what it kept of this person.

    ``storage`` also empties the outbox (IndexedDB): a patient whose practice logs have not
    been sent yet chooses to keep them (``keep_unsent``), and only the caches are cleared.
    """
    response.delete_cookie(
        session_cookie_name(request), path="/", secure=request.url.scheme == "https"
    )
    response.headers["Clear-Site-Data"] = '"cache"' if keep_unsent else '"cache", "storage"'
