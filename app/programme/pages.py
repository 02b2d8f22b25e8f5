"""Transcript pages: every exercise's words, one tap from the player."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.auth.dependencies import AdminUser
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups.dependencies import Patient
from app.programme import service as programme_service
from app.web.csrf import verify_csrf_form
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


@router.get("/programmes/{key}/adherence")
def adherence_page(request: Request, key: str, user: AdminUser, session: SessionDep) -> Response:
    """The programme's adherence definition, in words and as three numbers an admin may change."""
    programme = programme_service.get_programme_by_key(session, key)
    rule = programme_service.adherence_rule(session, programme)
    form = {
        "minutes_per_day": str(rule.minutes_per_day),
        "days_per_week": str(rule.days_per_week),
        "completer_weeks": str(rule.completer_weeks),
    }
    context = {"programme": programme, "rule": rule, "form": form, "errors": {}, "saved": False}
    return render(request, "programme/adherence.html", context)


@router.post("/programmes/{key}/adherence", dependencies=[Depends(verify_csrf_form)])
def adherence_submit(
    request: Request,
    key: str,
    user: AdminUser,
    session: SessionDep,
    minutes_per_day: Annotated[str, Form()] = "",
    days_per_week: Annotated[str, Form()] = "",
    completer_weeks: Annotated[str, Form()] = "",
) -> Response:
    programme = programme_service.get_programme_by_key(session, key)
    form = {
        "minutes_per_day": minutes_per_day,
        "days_per_week": days_per_week,
        "completer_weeks": completer_weeks,
    }
    try:
        numbers = {}
        for name, value in form.items():
            if not value.strip().isdigit():
                raise InvalidInput("Give a whole number.", field=name)
            numbers[name] = int(value)
        with session.begin_nested():
            rule = programme_service.set_adherence_target(
                session, actor=user, programme=programme, **numbers
            )
    except InvalidInput as error:
        rule = programme_service.adherence_rule(session, programme)
        context = {
            "programme": programme,
            "rule": rule,
            "form": form,
            "errors": {error.field or "form": error.message},
            "saved": False,
        }
        return render(request, "programme/adherence.html", context, status_code=422)
    context = {"programme": programme, "rule": rule, "form": form, "errors": {}, "saved": True}
    return render(request, "programme/adherence.html", context)
