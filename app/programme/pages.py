"""Transcript pages: every exercise's words, one tap from the player."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.auth.dependencies import AdminUser
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups.dependencies import Patient
from app.i18n import current_language
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
    text = programme_service.exercise_text(session, exercise_id, current_language())
    context = {
        "exercise": exercise,
        "text": text,
        "paragraphs": programme_service.transcript(text.script),
    }
    return render(request, "programme/transcript.html", context)


@router.get("/programmes/{key}/adherence")
def adherence_page(request: Request, key: str, user: AdminUser, session: SessionDep) -> Response:
    """The clinic's adherence definition for a programme, in words and as the settings its admin
    may change (the programme's own rule until the clinic sets one)."""
    programme = programme_service.get_programme_by_key(session, key)
    rule = programme_service.adherence_rule(session, programme, clinic_id=user.clinic_id)
    form = {
        "minutes_per_day": str(rule.minutes_per_day),
        "days_per_week": str(rule.days_per_week),
        "completer_weeks": str(rule.completer_weeks),
        "bad_day_counts": "yes" if rule.bad_day_counts else "",
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
    bad_day_counts: Annotated[str, Form()] = "",
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
                session,
                actor=user,
                programme=programme,
                bad_day_counts=bad_day_counts == "yes",
                **numbers,
            )
    except InvalidInput as error:
        rule = programme_service.adherence_rule(session, programme, clinic_id=user.clinic_id)
        context = {
            "programme": programme,
            "rule": rule,
            "form": {**form, "bad_day_counts": bad_day_counts},
            "errors": {error.field or "form": error.message},
            "saved": False,
        }
        return render(request, "programme/adherence.html", context, status_code=422)
    form["bad_day_counts"] = bad_day_counts
    context = {"programme": programme, "rule": rule, "form": form, "errors": {}, "saved": True}
    return render(request, "programme/adherence.html", context)
