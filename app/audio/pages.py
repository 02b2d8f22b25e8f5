"""Serving rendered audio: byte ranges (players seek; Safari asks for bytes=0-1 first),
cached for good under content-hashed names, and only to signed-in people of the clinic."""

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.audio import service as audio_service
from app.auth.dependencies import CurrentUser
from app.db import SessionDep
from app.errors import NotFound

router = APIRouter(tags=["media"])
# Content-hashed names never change content; "private" keeps shared caches out of it.
IMMUTABLE = "private, max-age=31536000, immutable"


@router.get("/media/{filename}")
def media(filename: str, request: Request, user: CurrentUser, session: SessionDep) -> FileResponse:
    rendition = audio_service.rendition_for_listener(
        session, filename=filename, clinic_id=user.clinic_id
    )
    path = request.app.state.settings.media_dir / rendition.filename
    if not path.is_file():
        raise NotFound("This recording is missing on the server; please tell your clinic.")
    return FileResponse(path, media_type=rendition.mime_type, headers={"Cache-Control": IMMUTABLE})
