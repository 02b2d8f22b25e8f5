"""The patient's pages: Today, the player, My progress and reflections."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app import clock
from app.clinics import service as clinics_service
from app.consent import service as consent_service
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups.dependencies import Patient
from app.i18n import SUPPORTED_LANGUAGES, current_language, gettext
from app.outcomes import due as due_windows
from app.practice import service as practice_service
from app.practice import views as patient_views
from app.practice.schemas import PracticeLogCreate, ReflectionWrite
from app.programme import service as programme_service
from app.reminders import service as reminders_service
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
_RATING_NAMES = ("pain_intensity", "pain_distress", "mood")
# Bad-day mode lasts for the patient's day on this phone: the cookie holds the day it was
# turned on, so tomorrow starts as a normal day without anyone turning it off.
BAD_DAY_COOKIE = "tend_bad_day"


def _bad_day(request: Request, patient: Patient) -> bool:
    return request.cookies.get(BAD_DAY_COOKIE) == patient.today.isoformat()


def _nav_context(session: SessionDep, patient: Patient) -> dict[str, object]:
    """What the bottom tab bar shows: how many questionnaires are due (its badge)."""
    due = due_windows.due_questionnaires(
        session, enrolment=patient.enrolment, group=patient.group, today=patient.today
    )
    return {"questionnaires_due_count": len(due)}


def _today_context(
    session: SessionDep, patient: Patient, week_number: int | None = None, *, bad_day: bool = False
) -> dict[str, object]:
    view = patient_views.today_view(
        session,
        group=patient.group,
        enrolment=patient.enrolment,
        today=patient.today,
        week_number=week_number,
        language=current_language(),
    )
    due = due_windows.due_questionnaires(
        session, enrolment=patient.enrolment, group=patient.group, today=patient.today
    )
    return {
        # On a bad day only what cannot wait: a questionnaire on its last day.
        "questionnaires_due": [
            item for item in due if not bad_day or item.window.closes_on == patient.today
        ],
        "questionnaires_due_count": len(due),
        "today": patient.today,
        "bad_day": bad_day,
        "next_reminder": reminders_service.next_reminder(session, user=patient.user),
        "view": view,
        "programme": view.programme,
        "week": view.week,
        "new_log_id": uuid.uuid4(),
        "recent": practice_service.list_practice_logs(
            session, enrolment=patient.enrolment, limit=5
        ),
    }


@router.get("/today")
def today_page(request: Request, patient: Patient, session: SessionDep, week: str = "") -> Response:
    """Today: this week's theme, teaching and practices, the target, and what waits to sync."""
    if consent_service.status_of(session, patient=patient.user).needs_asking:
        # A new information sheet: asked at this visit; nothing else changes until then.
        return RedirectResponse("/consent", status_code=303)
    # An odd ?week= (an old bookmark, a typo) shows the current week rather than an error.
    week_number = int(week) if week.isdigit() else None
    context = _today_context(session, patient, week_number, bad_day=_bad_day(request, patient))
    return render(request, "practice/today.html", {**context, "form": {}})


@router.post("/today/bad-day", dependencies=[Depends(verify_csrf_form)])
def bad_day_submit(request: Request, patient: Patient, on: Annotated[str, Form()] = "") -> Response:
    """Turn bad-day mode on (for the rest of the patient's day) or off; works without JS."""
    response = RedirectResponse("/today", status_code=303)
    if on == "yes":
        response.set_cookie(
            BAD_DAY_COOKIE,
            patient.today.isoformat(),
            max_age=2 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    else:
        response.delete_cookie(BAD_DAY_COOKIE)
    return response


@router.get("/more")
def more_page(request: Request, patient: Patient, session: SessionDep) -> Response:
    """More: questionnaires, reminders, my data, help, and signing out."""
    return render(request, "practice/more.html", _nav_context(session, patient))


def _language_page(
    request: Request,
    session: SessionDep,
    patient: Patient,
    *,
    saved: bool = False,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        **_nav_context(session, patient),
        "languages": SUPPORTED_LANGUAGES,
        "saved": saved,
        "errors": errors or {},
    }
    return render(request, "practice/language.html", context, status_code)


@router.get("/language")
def language_page(
    request: Request, patient: Patient, session: SessionDep, saved: bool = False
) -> Response:
    """Language: the patient chooses the language Tend speaks to them."""
    return _language_page(request, session, patient, saved=saved)


@router.post("/language", dependencies=[Depends(verify_csrf_form)])
def language_submit(
    request: Request,
    patient: Patient,
    session: SessionDep,
    language: Annotated[str, Form()] = "",
) -> Response:
    """Save the patient's language; the next page is in it."""
    assert patient.user.id is not None
    try:
        clinics_service.set_language(session, user_id=patient.user.id, language=language)
    except InvalidInput as error:
        errors = {"language": gettext(error.message)}
        return _language_page(request, session, patient, errors=errors, status_code=422)
    return RedirectResponse("/language?saved=1", status_code=303)


@router.get("/practice/{exercise_id}")
def player_page(
    exercise_id: int, request: Request, patient: Patient, session: SessionDep
) -> Response:
    """The player: one practice's audio, its transcript one tap away, optional ratings."""
    view = patient_views.player_view(
        session,
        group=patient.group,
        today=patient.today,
        exercise_id=exercise_id,
        language=current_language(),
    )
    return render(request, "practice/player.html", {"view": view})


@router.get("/progress")
def progress_page(request: Request, patient: Patient, session: SessionDep) -> Response:
    """My progress: practice days against the target, ratings over the weeks, what helps."""
    view = patient_views.progress_view(
        session, group=patient.group, enrolment=patient.enrolment, today=patient.today
    )
    context = {"view": view, **_nav_context(session, patient)}
    return render(request, "practice/progress.html", context)


def _reflections_context(session: SessionDep, patient: Patient) -> dict[str, object]:
    view = patient_views.reflections_view(
        session,
        group=patient.group,
        enrolment=patient.enrolment,
        today=patient.today,
        language=current_language(),
    )
    return {
        "view": view,
        "new_weekly_id": uuid.uuid4(),
        "new_end_id": uuid.uuid4(),
        **_nav_context(session, patient),
    }


@router.get("/reflections")
def reflections_page(request: Request, patient: Patient, session: SessionDep) -> Response:
    """Private reflections: this week's prompt and, at the end, what has changed."""
    context = _reflections_context(session, patient)
    return render(request, "practice/reflections.html", {**context, "form": {}})


@router.post("/reflections", dependencies=[Depends(verify_csrf_form)])
async def reflection_submit(request: Request, patient: Patient, session: SessionDep) -> Response:
    """Save a reflection from the plain HTML form (works without JavaScript)."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    errors: dict[str, str] = {}
    try:
        payload = ReflectionWrite(
            kind=form.get("kind", ""),
            week_number=int(form["week_number"]) if form.get("week_number") else None,
            text=form.get("text", ""),
            share_with_group=form.get("share_with_group") == "yes",
            share_name=form.get("share_name") == "yes" and form.get("share_with_group") == "yes",
        )
        programme = programme_service.get_programme(session, patient.group.programme_id)
        practice_service.save_reflection(
            session,
            enrolment=patient.enrolment,
            reflection_id=uuid.UUID(form.get("id", "")),
            payload=payload,
            weeks_in_programme=programme_service.adherence_rule(
                session, programme, clinic_id=patient.group.clinic_id
            ).total_weeks,
        )
    except ValidationError as error:
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else "text"
            errors[f"{form.get('kind', '')}-{name}"] = (
                gettext("Please write something first.") if name == "text" else item["msg"]
            )
    except (InvalidInput, ValueError) as error:
        errors[f"{form.get('kind', '')}-text"] = gettext(getattr(error, "message", str(error)))
    if errors:
        context = {**_reflections_context(session, patient), "form": form, "errors": errors}
        return render(request, "practice/reflections.html", context, status_code=422)
    return RedirectResponse("/reflections?saved=1", status_code=303)


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
        errors["minutes"] = gettext("Enter how many minutes you practised, from 1 to 360.")
    if not choice:
        errors["practice"] = gettext("Choose what you practised.")
    payload = None
    if not errors:
        started = clock.now_in(zone_name)
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
            errors[error.field or "practice"] = gettext(error.message)
    if errors:
        bad_day = _bad_day(request, patient)
        context = {
            **_today_context(session, patient, bad_day=bad_day),
            "form": form,
            "errors": errors,
        }
        return render(request, "practice/today.html", context, status_code=422)
    return RedirectResponse("/today?saved=1", status_code=303)
