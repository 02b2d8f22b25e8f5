"""Public plumbing: the landing redirect, health check, web app manifest and service worker."""

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from app.auth import service as auth_service
from app.db import open_session
from app.web.assets import STATIC_DIR
from app.web.csrf import session_token

router = APIRouter(tags=["public"])


@router.get("/", include_in_schema=False)
def landing(request: Request) -> Response:
    """Send people to their home page, or to sign in."""
    token = session_token(request)
    if token:
        with open_session(request.app.state.engine) as session:
            signed_in = auth_service.resolve_session_for_read(
                session, token=token, settings=request.app.state.settings
            )
        if signed_in is not None:
            home = "/today" if signed_in.user.role == "patient" else "/groups"
            return RedirectResponse(home, 303)
    return RedirectResponse("/login", status_code=303)


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 when the app and its database answer; 503 when the database does not."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest() -> FileResponse:
    return FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json")


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    # Served from the root so its scope is the whole app; never cached, so updates arrive.
    return FileResponse(
        STATIC_DIR / "js" / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
