"""The patient's reminders page: choose, pause or resume, and turn notifications on here."""

from datetime import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.dependencies import PatientUser
from app.db import SessionDep
from app.errors import InvalidInput
from app.i18n import N_, gettext
from app.reminders import schedule
from app.reminders import service as reminders_service
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
# Marked here, translated where the page shows them.
DAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
# Times of day a patient picks with one tap; "exact" lets them type a time instead.
PRESETS = {"morning": time(8, 0), "afternoon": time(13, 0), "evening": time(19, 0)}
NEW_PATIENT_PRESET = "evening"  # most practise after the day's demands, before bed


def _preset_of(at: str) -> str:
    return next((name for name, t in PRESETS.items() if t.strftime("%H:%M") == at), "exact")


def _form_from(session: SessionDep, user: PatientUser) -> dict[str, object]:
    preference = reminders_service.get_preference(session, user=user)
    if preference is None:
        return {
            "when": NEW_PATIENT_PRESET,
            "time_of_day": PRESETS[NEW_PATIENT_PRESET].strftime("%H:%M"),
            "days": list(range(7)),
            "timezone": "",
        }
    return {
        "practice": preference.practice,
        "questionnaire": preference.questionnaire,
        "group_session": preference.group_session,
        "when": _preset_of(preference.time_of_day.strftime("%H:%M")),
        "time_of_day": preference.time_of_day.strftime("%H:%M"),
        "days": schedule.weekdays_from(preference.days_mask),
        "timezone": preference.timezone,
    }


def _page(
    request: Request,
    session: SessionDep,
    user: PatientUser,
    form: dict[str, object],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    preference = reminders_service.get_preference(session, user=user)
    context = {
        "form": form,
        "errors": errors or {},
        "day_names": DAY_NAMES,
        "active": reminders_service.is_active(preference),
        "paused": bool(preference and preference.paused),
        "next_reminder": reminders_service.next_reminder(session, user=user),
        "clinic_timezone": request.app.state.settings.clinic_timezone,
        "presets": PRESETS,
    }
    return render(request, "reminders/settings.html", context, status_code=status_code)


@router.get("/reminders")
def reminders_page(request: Request, user: PatientUser, session: SessionDep) -> Response:
    return _page(request, session, user, _form_from(session, user))


def _parse_time(value: str) -> time | None:
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        return None


@router.post("/reminders", dependencies=[Depends(verify_csrf_form)])
async def save_reminders(request: Request, user: PatientUser, session: SessionDep) -> Response:
    """Save the choice from the plain HTML form (works without JavaScript)."""
    submitted = await request.form()
    days = [int(str(day)) for day in submitted.getlist("days") if str(day).isdigit()]
    when = str(submitted.get("when", "exact"))
    preset = PRESETS.get(when)
    typed = str(submitted.get("time_of_day", ""))
    form: dict[str, object] = {
        "when": when if preset else "exact",
        "practice": submitted.get("practice") == "yes",
        "questionnaire": submitted.get("questionnaire") == "yes",
        "group_session": submitted.get("group_session") == "yes",
        "time_of_day": preset.strftime("%H:%M") if preset else typed,
        "days": days,
        "timezone": str(submitted.get("timezone", "")).strip()
        or request.app.state.settings.clinic_timezone,
    }
    at = preset or _parse_time(str(form["time_of_day"]))
    if at is None:
        errors = {"time_of_day": gettext("Enter a time such as 08:00.")}
        return _page(request, session, user, form, errors, status_code=422)
    try:
        reminders_service.save_preference(
            session,
            user=user,
            practice=bool(form["practice"]),
            questionnaire=bool(form["questionnaire"]),
            group_session=bool(form["group_session"]),
            time_of_day=at,
            weekdays=days,
            timezone=str(form["timezone"]),
        )
    except InvalidInput as error:
        errors = {error.field or "practice": gettext(error.message)}
        return _page(request, session, user, form, errors, status_code=422)
    return RedirectResponse("/reminders?saved=1", status_code=303)


@router.post("/reminders/pause", dependencies=[Depends(verify_csrf_form)])
def pause_reminders(user: PatientUser, session: SessionDep) -> Response:
    """One tap: pause every reminder."""
    reminders_service.set_paused(session, user=user, paused=True)
    return RedirectResponse("/reminders?paused=1", status_code=303)


@router.post("/reminders/resume", dependencies=[Depends(verify_csrf_form)])
def resume_reminders(user: PatientUser, session: SessionDep) -> Response:
    """One tap: resume reminders as they were chosen."""
    reminders_service.set_paused(session, user=user, paused=False)
    return RedirectResponse("/reminders?resumed=1", status_code=303)
