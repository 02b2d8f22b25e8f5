"""Transcript pages: every exercise's words, one tap from the player."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.db import SessionDep
from app.groups.dependencies import Patient
from app.programme import service as programme_service
from app.web.templating import render

router = APIRouter(tags=["pages"])


@router.get("/exercises/{exercise_id}/transcript")
def transcript_page(
    exercise_id: int, request: Request, patient: Patient, session: SessionDep
) -> Response:
    exercise = programme_service.get_exercise(
        session, exercise_id, programme_id=patient.group.programme_id
    )
    paragraphs = programme_service.transcript(exercise)
    return render(
        request, "programme/transcript.html", {"exercise": exercise, "paragraphs": paragraphs}
    )
