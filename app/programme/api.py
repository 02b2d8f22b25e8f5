"""The patient's programme over the JSON API."""

from fastapi import APIRouter, Request

from app.auth.dependencies import their_language
from app.db import SessionDep
from app.groups.dependencies import Patient
from app.programme.schemas import ProgrammeRead
from app.programme.views import patient_programme

router = APIRouter(tags=["programme"])


@router.get("/programme", response_model=ProgrammeRead)
def get_my_programme(request: Request, patient: Patient, session: SessionDep) -> ProgrammeRead:
    """The signed-in patient's programme: weeks in order, what is open, and the audio, in the
    patient's language where the programme is translated."""
    return patient_programme(
        session, group=patient.group, today=patient.today, language=their_language(request)
    )
