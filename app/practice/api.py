"""Practice logs and check-ins over the JSON API (CONTRACT: /api/v1/practice-logs)."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from app.db import SessionDep, in_write_transaction
from app.groups.dependencies import Patient
from app.practice import service as practice_service
from app.practice.schemas import (
    CheckInCreate,
    CheckInRead,
    PracticeLogCreate,
    PracticeLogRead,
    ReflectionRead,
    ReflectionWrite,
)
from app.programme import service as programme_service

router = APIRouter(tags=["practice"])


@router.post(
    "/practice-logs",
    response_model=PracticeLogRead,
    status_code=201,
    responses={200: {"model": PracticeLogRead, "description": "Already stored: the same log"}},
)
async def create_practice_log(
    body: PracticeLogCreate, patient: Patient, request: Request, response: Response
) -> PracticeLogRead:
    """Record a practice. Sending the same log again is safe: it is stored once."""
    log, created = await in_write_transaction(
        request,
        lambda session: practice_service.record_practice(
            session,
            enrolment=patient.enrolment,
            programme_id=patient.group.programme_id,
            payload=body,
        ),
    )
    response.status_code = 201 if created else 200
    return log


@router.delete("/practice-logs/{log_id}", status_code=204)
def undo_practice_log(log_id: UUID, patient: Patient, session: SessionDep) -> Response:
    """Undo a practice just noted (the "Undo" beside "Noted"); sending it again is safe."""
    practice_service.undo_practice(session, enrolment=patient.enrolment, log_id=log_id)
    return Response(status_code=204)


@router.get("/practice-logs", response_model=list[PracticeLogRead])
def list_practice_logs(patient: Patient, session: SessionDep) -> list[PracticeLogRead]:
    """The signed-in patient's own practice logs, newest first."""
    return practice_service.list_practice_logs(session, enrolment=patient.enrolment)


@router.post(
    "/check-ins",
    response_model=CheckInRead,
    status_code=201,
    responses={200: {"model": CheckInRead, "description": "Already stored"}},
)
async def create_check_in(
    body: CheckInCreate, patient: Patient, request: Request, response: Response
) -> CheckInRead:
    """Record 0-10 ratings on their own. Sending the same ratings again is safe."""
    check_in, created = await in_write_transaction(
        request,
        lambda session: practice_service.record_check_in(
            session, enrolment=patient.enrolment, payload=body
        ),
    )
    response.status_code = 201 if created else 200
    return check_in


@router.put(
    "/reflections/{reflection_id}",
    response_model=ReflectionRead,
    status_code=201,
    responses={200: {"model": ReflectionRead, "description": "Already stored: updated"}},
)
def put_reflection(
    reflection_id: UUID,
    body: ReflectionWrite,
    patient: Patient,
    session: SessionDep,
    response: Response,
) -> ReflectionRead:
    """Write a private reflection (id made on the phone); sending it again updates it."""
    programme = programme_service.get_programme(session, patient.group.programme_id)
    reflection, created = practice_service.save_reflection(
        session,
        enrolment=patient.enrolment,
        reflection_id=reflection_id,
        payload=body,
        weeks_in_programme=programme_service.adherence_rule(
            session, programme, clinic_id=patient.group.clinic_id
        ).total_weeks,
    )
    response.status_code = 201 if created else 200
    return reflection


@router.get("/reflections", response_model=list[ReflectionRead])
def list_reflections(patient: Patient, session: SessionDep) -> list[ReflectionRead]:
    """The signed-in patient's own reflections, newest first."""
    return practice_service.list_reflections(session, enrolment=patient.enrolment)
