"""The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""

from fastapi import Request, Response

from app.clinics.models import Role, User
from app.web.csrf import SESSION_COOKIE


def set_session_cookie(request: Request, response: Response, *, token: str, user: User) -> None:
    """Give the browser its session; a patient's phone keeps it across restarts."""
    settings = request.app.state.settings
    max_age = settings.patient_session_days * 86400 if user.role == Role.patient else None
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response, *, keep_unsent: bool = False) -> None:
    """Remove the session cookie and ask the browser to forget what it kept of this person.

    ``storage`` also empties the outbox (IndexedDB): a patient whose practice logs have not
    been sent yet chooses to keep them (``keep_unsent``), and only the caches are cleared.
    """
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.headers["Clear-Site-Data"] = '"cache"' if keep_unsent else '"cache", "storage"'
