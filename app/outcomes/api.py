"""Questionnaires over the JSON API: what is due, draft answers, submission; the summary."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from app.auth.dependencies import StaffUser, their_language
from app.db import SessionDep
from app.groups.dependencies import Patient
from app.outcomes import due as due_windows
from app.outcomes import questionnaires
from app.outcomes import summary as cohort_summary
from app.outcomes.definitions import Instrument
from app.outcomes.instruments import in_language
from app.outcomes.models import Administration
from app.outcomes.schemas import (
    AdministrationRead,
    AnswersUpdate,
    DueQuestionnaire,
    ItemRead,
    OptionRead,
    SubmitResult,
)

router = APIRouter(tags=["outcomes"])


def _items(instrument: Instrument) -> list[ItemRead]:
    reads = []
    for item in instrument.items:
        options = item.options or (None if item.range else instrument.options)
        if options is None:
            values = instrument.allowed_values(item.id)
            options_read = [OptionRead(value=v, label=str(v)) for v in values]
        else:
            options_read = [OptionRead(value=o.value, label=o.label) for o in options]
        reads.append(ItemRead(id=item.id, text=item.text, options=options_read))
    return reads


def _read(administration: Administration) -> AdministrationRead:
    return AdministrationRead(
        id=administration.id or 0,
        instrument=administration.instrument_id,
        version=administration.instrument_version,
        timepoint=administration.timepoint,
        status=administration.status.value,
        answers=administration.answers,
        score=administration.score_total,
        band=administration.score_band,
        is_case=administration.is_case,
        started_at=administration.started_at,
        submitted_at=administration.submitted_at,
    )


def _result(outcome: questionnaires.SubmitOutcome) -> SubmitResult:
    return SubmitResult(
        administration=_read(outcome.administration),
        safety_flag_raised=outcome.flag is not None,
        crisis_text=outcome.crisis_text,
    )


@router.get("/questionnaires/due", response_model=list[DueQuestionnaire])
def due(request: Request, patient: Patient, session: SessionDep) -> list[DueQuestionnaire]:
    """The questionnaires the signed-in patient may fill in today, with answers saved so far."""
    items = due_windows.due_questionnaires(
        session, enrolment=patient.enrolment, group=patient.group, today=patient.today
    )
    language = their_language(request)
    return [_due(item, *in_language(item.instrument, language)) for item in items]


def _due(item: due_windows.DueItem, shown: Instrument, language: str) -> DueQuestionnaire:
    """A due questionnaire worded as ``shown`` (the original or a clinic's validated
    translation of it)."""
    base = f"/api/v1/questionnaires/{shown.id}/{item.window.timepoint}"
    return DueQuestionnaire(
        instrument=shown.id,
        version=shown.version,
        language=language,
        title=shown.title,
        short_name=shown.short_name,
        timepoint=item.window.timepoint,
        optional=item.window.optional,
        opens_on=item.window.opens_on,
        closes_on=item.window.closes_on,
        instructions=shown.instructions,
        items=_items(shown),
        answers=item.draft.answers if item.draft else {},
        answers_url=f"{base}/answers",
        submit_url=f"{base}/submit",
    )


def _refused(error: questionnaires.FormRefused) -> JSONResponse:
    """422 (or the refusal's own status) naming each field, the first with the whole reason,
    and the crisis text when a risk answer was recorded: the route returns normally, so what
    was kept is committed."""
    detail = [
        {
            "loc": ["body", *field.split(".")],
            "msg": error.message if field == error.field else message,
            "type": "value_error",
        }
        for field, message in error.errors.items()
    ]
    return JSONResponse(
        {"detail": detail, "crisis_text": error.crisis_text}, status_code=error.status_code
    )


@router.put(
    "/questionnaires/{instrument}/{timepoint}/answers",
    response_model=SubmitResult,
    responses={422: {"description": "Refused; `crisis_text` set when a risk answer was kept"}},
)
def save_answers(
    instrument: str, timepoint: str, body: AnswersUpdate, patient: Patient, session: SessionDep
) -> Any:
    """Save answers part-way (null clears one); nothing is scored until it is submitted."""
    try:
        outcome = questionnaires.save_draft(
            session,
            enrolment=patient.enrolment,
            group=patient.group,
            instrument_id=instrument,
            timepoint=timepoint,
            answers=body.answers,
            today=patient.today,
        )
    except questionnaires.FormRefused as error:
        return _refused(error)
    return _result(outcome)


@router.post(
    "/questionnaires/{instrument}/{timepoint}/submit",
    response_model=SubmitResult,
    status_code=201,
    responses={422: {"description": "Refused; `crisis_text` set when a risk answer was kept"}},
)
def submit(
    instrument: str,
    timepoint: str,
    patient: Patient,
    session: SessionDep,
    body: Annotated[AnswersUpdate | None, Body()] = None,
) -> Any:
    """Send the questionnaire for good. Every question must be answered; it is sent once.
    A risk answer is recorded even when the form is refused (late, incomplete, malformed)."""
    try:
        outcome = questionnaires.submit_questionnaire(
            session,
            enrolment=patient.enrolment,
            group=patient.group,
            instrument_id=instrument,
            timepoint=timepoint,
            answers=body.answers if body else {},
            today=patient.today,
        )
    except questionnaires.FormRefused as error:
        return _refused(error)
    return _result(outcome)


@router.get("/outcomes/summary")
def summary(
    user: StaffUser,
    session: SessionDep,
    group: Annotated[list[str] | None, Query()] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    exclude_prorated: bool = False,
) -> dict[str, Any]:
    """The outcome summary, exactly as the clinician page and `tend outcomes summary` give it."""
    result = cohort_summary.summarise_outcomes(
        session,
        viewer=user,
        group_codes=group or (),
        date_from=date_from,
        date_to=date_to,
        exclude_prorated=exclude_prorated,
    )
    return result.as_json()
