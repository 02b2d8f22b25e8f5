"""Serving rendered audio: byte ranges (players seek; Safari asks for bytes=0-1 first),
cached for good under content-hashed names, and only to signed-in people of the clinic."""

import re
from gettext import gettext as _
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.types import Message, Receive

from app.audio import probe, worker
from app.audio import service as audio_service
from app.audio.processing import AudioRejected
from app.auth.dependencies import AdminUser, CurrentUser
from app.clinics.models import User
from app.config import Settings
from app.db import SessionDep
from app.errors import NotFound
from app.programme import service as programme_service
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["media"])
# Content-hashed names never change content; "private" keeps shared caches out of it.
IMMUTABLE = "private, max-age=31536000, immutable"
# What the upload field offers in the file picker; the server decides by decoding, not by name.
ACCEPT = "audio/*,.wav,.mp3,.m4a,.aac,.ogg,.opus,.webm,.flac"


@router.get("/media/{filename}")
def media(filename: str, request: Request, user: CurrentUser, session: SessionDep) -> Response:
    rendition = audio_service.rendition_for_listener(
        session, filename=filename, clinic_id=user.clinic_id
    )
    path = request.app.state.settings.media_dir / rendition.filename
    if not path.is_file():
        raise NotFound("This recording is missing on the server; please tell your clinic.")
    requested = request.headers.get("range")
    if requested is not None and not _well_formed(requested):
        # Starlette answers 400 to a malformed range; players expect 416 and the length.
        return Response(
            status_code=416, headers={"Content-Range": f"bytes */{path.stat().st_size}"}
        )
    return FileResponse(path, media_type=rendition.mime_type, headers={"Cache-Control": IMMUTABLE})


_RANGE_PART = re.compile(r"(\d*)-(\d*)")


def _well_formed(header: str) -> bool:
    """Whether a Range header is a valid bytes range set (satisfiable or not)."""
    unit, _, ranges = header.partition("=")
    if unit.strip().lower() != "bytes":
        return True  # another unit: not ours to judge (RFC 9110 says ignore it)
    for part in ranges.split(","):
        match = _RANGE_PART.fullmatch(part.strip())
        if match is None or match.group(1) == match.group(2) == "":
            return False
        if match.group(1) and match.group(2) and int(match.group(1)) > int(match.group(2)):
            return False
    return True


def _admin_context(session: Session, user: User) -> dict[str, Any]:
    exercises = programme_service.exercises_in_week_order(session)
    audio = audio_service.audio_for_admin(
        session, exercise_ids=[e.id or 0 for e, _ in exercises], clinic_id=user.clinic_id
    )
    rows = [
        {"exercise": exercise, "weeks": weeks, "audio": audio[exercise.id or 0]}
        for exercise, weeks in exercises
    ]
    return {"rows": rows, "accept": ACCEPT, "max_mb": worker.MAX_UPLOAD_BYTES // 2**20}


@router.get("/admin/audio")
def admin_audio(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """Every exercise's audio in this clinic, with a form to upload the clinic's own."""
    return render(request, "audio/admin.html", _admin_context(session, user))


class _BodyTooLarge(Exception):
    """The request body went past the upload cap while streaming in."""


def _capped_receive(request: Request, limit: int) -> Receive:
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
        return message

    return receive


async def _receive_recording(
    request: Request, settings: Settings
) -> tuple[str | None, Path | None, str, str]:
    """(error, the file on disk, its name, its SHA-256) from the upload form."""
    async with request.form(max_files=1, max_fields=4) as form:
        verify_csrf_form(request, str(form.get("csrf_token") or ""))
        upload = form.get("recording")
        if not isinstance(upload, StarletteUpload) or not upload.filename:
            return _("Choose a recording to upload."), None, "", ""
        try:
            incoming, sha256, _size = await run_in_threadpool(
                worker.receive_upload, upload.file, settings
            )
        except ValueError:
            return _too_big(), None, "", ""
        return None, incoming, upload.filename, sha256


@router.post("/admin/audio/{exercise_id}")
async def upload_recording(
    exercise_id: int,
    request: Request,
    user: AdminUser,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    """Accept a recording, check it quickly, and queue it; the work runs after the answer."""
    # Programmes are shared by every clinic; an upload replaces the voice for this clinic only.
    exercise = programme_service.exercises_by_id(session, [exercise_id]).get(exercise_id)
    if exercise is None:
        raise NotFound("No such exercise.")
    settings = request.app.state.settings
    declared = int(request.headers.get("content-length") or 0)
    error: str | None = None
    incoming = None
    if declared > worker.MAX_UPLOAD_BYTES + 2**20:
        error = _too_big()
    else:
        # Starlette spools file parts to a temporary file past 1 MB: never all in memory; the
        # body is counted as it streams in, so a request without a length stops at the cap.
        capped = Request(request.scope, _capped_receive(request, worker.MAX_UPLOAD_BYTES + 2**20))
        try:
            error, incoming, filename, sha256 = await _receive_recording(capped, settings)
        except _BodyTooLarge:
            error = _too_big()
    if incoming is not None:
        try:
            await run_in_threadpool(probe.probe_recording, incoming)
        except AudioRejected as rejected:
            incoming.unlink(missing_ok=True)
            incoming, error = None, str(rejected)
    if error is not None or incoming is None:
        context = _admin_context(session, user)
        context |= {"errors": {exercise_id: error}}
        return render(request, "audio/admin.html", context, status_code=422)
    asset = audio_service.add_upload(
        session,
        exercise_id=exercise.id or 0,
        actor=user,
        original_filename=filename,
        sha256=sha256,
    )
    worker.keep_upload(incoming, settings, asset.id or 0)
    # Runs after the session has committed and the answer has gone: off the request path.
    background.add_task(worker.process_upload, request.app.state.engine, settings, asset.id or 0)
    return RedirectResponse(f"/admin/audio#exercise-{exercise_id}", status_code=303)


def _too_big() -> str:
    return _("This file is larger than {mb} MB. Please upload a smaller one.").format(
        mb=worker.MAX_UPLOAD_BYTES // 2**20
    )
