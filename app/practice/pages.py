"""The patient's pages: this week's practices and a quick form to log one."""

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.db import SessionDep
from app.errors import InvalidInput
from app.groups.dependencies import Patient
from app.practice import service as practice_service
from app.practice.schemas import PracticeLogCreate
from app.programme.views import patient_programme
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
_RATING_NAMES = ("pain_intensity", "pain_distress", "mood")


def _today_context(session: SessionDep, patient: Patient) -> dict[str, object]:
    programme = patient_programme(session, group=patient.group, today=patient.today)
    week_number = max(programme.current_week, 1)
    return {
        "programme": programme,
        "week": programme.weeks[week_number - 1] if programme.weeks else None,
        "new_log_id": uuid.uuid4(),
        "recent": practice_service.list_practice_logs(session, enrolment=patient.enrolment)[:5],
    }


@router.get("/today")
def today_page(request: Request, patient: Patient, session: SessionDep) -> Response:
    return render(request, "practice/today.html", {**_today_context(session, patient), "form": {}})


def _ratings(form: dict[str, str], moment: str) -> dict[str, int] | None:
    given = {
        name: int(form[f"{moment}_{name}"])
        for name in _RATING_NAMES
        if form.get(f"{moment}_{name}", "").strip().isdigit()
    }
    return given or None


def _form_field(loc: tuple[int | str, ...]) -> str:
    # ("ratings_after", "mood") is the form's "after_mood" field.
    if len(loc) == 2 and str(loc[0]).startswith("ratings_"):
        return f"{str(loc[0]).removeprefix('ratings_')}_{loc[1]}"
    return str(loc[0]) if loc else "practice"


@router.post("/today/practice", dependencies=[Depends(verify_csrf_form)])
async def log_practice_submit(
    request: Request,
    patient: Patient,
    session: SessionDep,
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """Log a practice from the plain HTML form (works without JavaScript)."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    zone_name = timezone or "Europe/London"
    choice = form.get("practice", "")
    minutes = form.get("minutes", "").strip()
    errors: dict[str, str] = {}
    if not minutes.isdigit() or not 1 <= int(minutes) <= 360:
        errors["minutes"] = "Enter how many minutes you practised, from 1 to 360."
    if not choice:
        errors["practice"] = "Choose what you practised."
    payload = None
    if not errors:
        started = datetime.now(ZoneInfo(zone_name))
        try:
            payload = PracticeLogCreate(
                id=uuid.UUID(form.get("id", "")),
                exercise_id=int(choice) if choice.isdigit() else None,
                kind=None if choice.isdigit() else choice,
                started_at=started,
                timezone=zone_name,
                local_date=started.date(),
                listened_seconds=int(minutes) * 60,
                completed=form.get("completed") == "yes",
                ratings_before=_ratings(form, "before"),
                ratings_after=_ratings(form, "after"),
            )
            practice_service.record_practice(
                session,
                enrolment=patient.enrolment,
                programme_id=patient.group.programme_id,
                payload=payload,
            )
        except ValidationError as error:
            for item in error.errors():
                errors[_form_field(item["loc"])] = item["msg"]
        except InvalidInput as error:
            errors[error.field or "practice"] = error.message
    if errors:
        context = {**_today_context(session, patient), "form": form, "errors": errors}
        return render(request, "practice/today.html", context, status_code=422)
    return RedirectResponse("/today?saved=1", status_code=303)
