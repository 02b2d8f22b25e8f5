"""Outcome pages: questionnaires on the phone, paper-form entry, the clinician's summary with
its charts, a printable per-patient summary, and acknowledging safety flags."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from app.auth.dependencies import CurrentUser, StaffUser
from app.clinics import service as clinics_service
from app.db import SessionDep
from app.errors import AppError, InvalidInput, NotFound
from app.groups import service as groups_service
from app.groups.dependencies import Patient
from app.i18n import N_, current_language, gettext
from app.outcomes import charts, patient_view, questionnaires
from app.outcomes import due as due_windows
from app.outcomes import instruments as instrument_registry
from app.outcomes import safety as safety_flags
from app.outcomes import summary as cohort_summary
from app.outcomes.definitions import Instrument
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
PRACTICE_ROWS_PER_PAGE = 100  # a clinic's table has thousands of patients
TIMEPOINT_NAMES = {
    "baseline": "Before the group",
    "end": "End of the group",
    "follow_up": "Three months later",
}


def timepoint_name(timepoint: str) -> str:
    """A timepoint in words."""
    if timepoint.startswith("week_"):
        return f"Week {timepoint.removeprefix('week_')}"
    return TIMEPOINT_NAMES.get(timepoint, timepoint)


def short_timepoint(timepoint: str) -> str:
    """A timepoint as a short chart label."""
    if timepoint.startswith("week_"):
        return f"W{timepoint.removeprefix('week_')}"
    return {"baseline": "Before", "end": "End", "follow_up": "3 months"}.get(timepoint, timepoint)


def _choices(instrument: Instrument, item_id: str) -> list[tuple[int, str]]:
    item = instrument.item(item_id)
    options = item.options or (None if item.range else instrument.options)
    if options is not None:
        return [(o.value, o.label) for o in options]
    return [(v, str(v)) for v in instrument.allowed_values(item_id)]


def _scale_labels(instrument: Instrument, item_id: str) -> tuple[str | None, str | None]:
    item = instrument.item(item_id)
    scale = item.range or instrument.range
    return (scale.min_label, scale.max_label) if scale else (None, None)


def _form_answers(form: dict[str, str], instrument: Instrument) -> dict[str, int | None]:
    answers: dict[str, int | None] = {}
    for item_id in instrument.item_ids:
        raw = form.get(f"q_{item_id}", "").strip()
        if raw:
            answers[item_id] = int(raw) if raw.lstrip("-").isdigit() else raw  # type: ignore[assignment]
    return answers


# ------------------------------------------------------------------------------ patient pages


@router.get("/help")
def help_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Urgent support, one tap from every patient page; kept on the phone for no signal."""
    crisis_text, promise = safety_flags.help_text(session, clinic_id=user.clinic_id)
    return render(request, "outcomes/help.html", {"crisis_text": crisis_text, "promise": promise})


@router.get("/questionnaires")
def questionnaires_page(request: Request, patient: Patient, session: SessionDep) -> Response:
    due = due_windows.due_questionnaires(
        session, enrolment=patient.enrolment, group=patient.group, today=patient.today
    )
    context = {"due": due, "timepoint_name": timepoint_name, "today": patient.today}
    return render(request, "outcomes/due.html", context)


def _questionnaire_context(
    session: SessionDep, patient: Patient, instrument_id: str, timepoint: str
) -> dict[str, Any]:
    item = due_windows.due_item(
        session,
        enrolment=patient.enrolment,
        group=patient.group,
        instrument_id=instrument_id,
        timepoint=timepoint,
        today=patient.today,
    )
    # Shown in the patient's language only from a clinic's validated translation; answers are
    # scored against the original either way (submit_questionnaire reads it by id).
    instrument, language = instrument_registry.in_language(item.instrument, current_language())
    return {
        "item": item,
        "instrument": instrument,
        "instrument_language": language,
        "timepoint": timepoint,
        "timepoint_name": timepoint_name(timepoint),
        "choices": {i: _choices(instrument, i) for i in instrument.item_ids},
        "scale_labels": {i: _scale_labels(instrument, i) for i in instrument.item_ids},
        "answers": {
            k: str(v)
            for k, v in (item.draft.answers if item.draft else {}).items()
            if v is not None
        },
        "errors": {},
        "crisis_text": None,
        # Shown by the page's script the moment a safety answer is chosen, signal or not.
        "safety_items": {rule.item: rule.above for rule in instrument.safety_items},
        "support_text": clinics_service.get_clinic(session, patient.group.clinic_id).crisis_text,
        "support_promise": safety_flags.pending_promise(session, group=patient.group),
        "api_base": f"/api/v1/questionnaires/{instrument.id}/{timepoint}",
    }


@router.get("/questionnaires/sent/{administration_id}")
def questionnaire_sent(
    request: Request, administration_id: int, patient: Patient, session: SessionDep
) -> Response:
    administration, flag = questionnaires.get_administration_for_patient(
        session, enrolment=patient.enrolment, administration_id=administration_id
    )
    context = {
        "administration": administration,
        "instrument": instrument_registry.get_instrument(administration.instrument_id),
        "crisis_text": safety_flags.crisis_text_for(session, group=patient.group) if flag else None,
    }
    return render(request, "outcomes/sent.html", context)


# The weekly one-question ratings share one page, with plain titles: two numbers, one Send.
WEEKLY_TITLES = {
    "pain_intensity": N_("How has your pain been this week?"),
    "pain_distress": N_("How much has your pain bothered you this week?"),
}


def _weekly_items(
    session: SessionDep, patient: Patient, timepoint: str
) -> list[due_windows.DueItem]:
    due = due_windows.due_questionnaires(
        session, enrolment=patient.enrolment, group=patient.group, today=patient.today
    )
    found = [
        item
        for item in due
        if item.window.timepoint == timepoint and item.instrument.id in WEEKLY_TITLES
    ]
    if not found:
        raise NotFound(N_("Nothing to answer for that week just now."))
    return found


def _weekly_context(items: list[due_windows.DueItem], timepoint: str) -> dict[str, Any]:
    # The questions are Tend's own words; the scale ends are the instrument's, so they follow
    # the questionnaire rule: the clinic's validated translation, else the original.
    shown = {
        item.instrument.id: instrument_registry.in_language(item.instrument, current_language())
        for item in items
    }
    return {
        "items": items,
        "titles": WEEKLY_TITLES,
        "timepoint": timepoint,
        "timepoint_name": timepoint_name(timepoint),
        "choices": {key: _choices(i, i.item_ids[0]) for key, (i, _) in shown.items()},
        "scale_labels": {key: _scale_labels(i, i.item_ids[0]) for key, (i, _) in shown.items()},
        "scale_languages": {key: language for key, (_, language) in shown.items()},
        "answers": {},
        "errors": {},
    }


@router.get("/questionnaires/weekly/{timepoint}")
def weekly_questions_page(
    request: Request, timepoint: str, patient: Patient, session: SessionDep
) -> Response:
    """This week's pain questions on one page."""
    context = _weekly_context(_weekly_items(session, patient, timepoint), timepoint)
    return render(request, "outcomes/weekly.html", context)


@router.post("/questionnaires/weekly/{timepoint}", dependencies=[Depends(verify_csrf_form)])
async def weekly_questions_submit(
    request: Request, timepoint: str, patient: Patient, session: SessionDep
) -> Response:
    """Send this week's pain answers together; an unanswered one is named and nothing is sent."""
    items = _weekly_items(session, patient, timepoint)
    context = _weekly_context(items, timepoint)
    form = {key: str(value) for key, value in (await request.form()).items()}
    answers = {item.instrument.id: form.get(item.instrument.id, "").strip() for item in items}
    context["answers"] = answers
    context["errors"] = {
        i: gettext("Please answer this question.") for i, v in answers.items() if not v.isdigit()
    }
    if context["errors"]:
        return render(request, "outcomes/weekly.html", context, status_code=422)
    try:
        for item in items:
            questionnaires.submit_questionnaire(
                session,
                enrolment=patient.enrolment,
                group=patient.group,
                instrument_id=item.instrument.id,
                timepoint=timepoint,
                answers={item.instrument.item_ids[0]: int(answers[item.instrument.id])},
                today=patient.today,
            )
    except InvalidInput as error:
        session.rollback()  # neither is sent
        context["errors"] = {item.instrument.id: gettext(error.message) for item in items[:1]}
        return render(request, "outcomes/weekly.html", context, status_code=422)
    return RedirectResponse("/today?answered=1", status_code=303)


@router.get("/questionnaires/{instrument_id}/{timepoint}")
def questionnaire_page(
    request: Request, instrument_id: str, timepoint: str, patient: Patient, session: SessionDep
) -> Response:
    context = _questionnaire_context(session, patient, instrument_id, timepoint)
    if request.query_params.get("saved"):
        context["saved"] = True
    return render(request, "outcomes/questionnaire.html", context)


@router.post(
    "/questionnaires/{instrument_id}/{timepoint}", dependencies=[Depends(verify_csrf_form)]
)
async def questionnaire_submit(
    request: Request, instrument_id: str, timepoint: str, patient: Patient, session: SessionDep
) -> Response:
    """Save part-way ("Save and finish later") or send for good ("Send"). The answers go to the
    service before anything else is checked, so a risk answer is recorded whatever happens."""
    instrument = instrument_registry.get_instrument(instrument_id)
    form = {key: str(value) for key, value in (await request.form()).items()}
    answers = _form_answers(form, instrument)
    common: dict[str, Any] = {
        "enrolment": patient.enrolment,
        "group": patient.group,
        "instrument_id": instrument_id,
        "timepoint": timepoint,
        "today": patient.today,
    }
    try:
        if form.get("action") == "save":
            saved = questionnaires.save_draft(session, **common, answers=answers)
            if saved.flag is not None:
                context = _questionnaire_context(session, patient, instrument_id, timepoint)
                context.update(saved=True, crisis_text=saved.crisis_text)
                return render(request, "outcomes/questionnaire.html", context)
            return RedirectResponse(
                f"/questionnaires/{instrument_id}/{timepoint}?saved=1", status_code=303
            )
        outcome = questionnaires.submit_questionnaire(session, **common, answers=answers)
    except questionnaires.FormRefused as error:
        # What was kept (a risk answer, the well-formed answers) is committed: the route returns.
        if error.draft is None:  # the window had closed, or it was sent already
            context = {"message": gettext(error.message), "crisis_text": error.crisis_text}
            return render(request, "outcomes/refused.html", context, status_code=error.status_code)
        context = _questionnaire_context(session, patient, instrument_id, timepoint)
        context["answers"] = {k: str(v) for k, v in answers.items() if v is not None}
        context["errors"] = {
            field.removeprefix("answers."): message for field, message in error.errors.items()
        }
        context["summary_error"] = error.message
        context["crisis_text"] = error.crisis_text
        return render(request, "outcomes/questionnaire.html", context, status_code=422)
    return RedirectResponse(f"/questionnaires/sent/{outcome.administration.id}", status_code=303)


# --------------------------------------------------------------------------------- staff pages


def _parse_date(raw: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD, for example 2026-03-01."
        return None


def _forest_rows(summary: cohort_summary.OutcomeSummary) -> list[charts.ForestRow]:
    rows = []
    for measure in summary.measures:
        stats = measure.stats
        sign = 1 if measure.instrument.higher_is_better else -1
        # The headline effect size, the one the table leads with.
        if stats.d_av is None or stats.d_av_ci is None:
            note = f"too few (n = {stats.n_pairs})" if stats.too_few else "not estimated"
            rows.append(charts.ForestRow(measure.label, None, None, None, note))
            continue
        low, high = sorted(v * sign for v in stats.d_av_ci)
        rows.append(charts.ForestRow(measure.label, stats.d_av * sign, low, high))
    return rows


@dataclass(frozen=True)
class PracticeTable:
    """One page of the practice-per-patient table, with figures for everyone above it."""

    rows: Sequence[cohort_summary.AdherenceRow]
    first: int  # 1-based number of the page's first row
    page: int
    pages: int
    patients: int
    practised: int  # at least one practice day
    median_days: float | None
    median_minutes: float | None


def _practice_table(rows: Sequence[cohort_summary.AdherenceRow], page: int) -> PracticeTable:
    pages = max(1, math.ceil(len(rows) / PRACTICE_ROWS_PER_PAGE))
    page = min(page, pages)
    start = (page - 1) * PRACTICE_ROWS_PER_PAGE
    return PracticeTable(
        rows=rows[start : start + PRACTICE_ROWS_PER_PAGE],
        first=start + 1,
        page=page,
        pages=pages,
        patients=len(rows),
        practised=sum(row.practice_days > 0 for row in rows),
        median_days=statistics.median(row.practice_days for row in rows) if rows else None,
        median_minutes=statistics.median(row.minutes for row in rows) if rows else None,
    )


@router.get("/outcomes")
def outcomes_page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    group: Annotated[list[str] | None, Query()] = None,
    date_from: str | None = None,
    date_to: str | None = None,
    exclude_prorated: bool = False,
    reference: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The outcome summary for the chosen groups, with charts, change counts and adherence
    (the practice table a page at a time); ``reference`` adds the published study's figures."""
    errors: dict[str, str] = {}
    first = _parse_date(date_from, "date_from", errors)
    last = _parse_date(date_to, "date_to", errors)
    summary = cohort_summary.summarise_outcomes(
        session,
        viewer=user,
        group_codes=group or (),
        date_from=first,
        date_to=last,
        exclude_prorated=exclude_prorated,
    )
    paired_charts = [
        Markup(
            charts.paired_plot(
                m.pair_counts,
                low=m.instrument.scoring.range.min,
                high=m.instrument.scoring.range.max,
                title=m.label,
                before=m.from_.replace("_", "-"),
                after=m.to.replace("_", "-"),
                ident=f"paired-{index}",
            )
        )
        for index, m in enumerate(summary.measures)
    ]
    query = urlencode(
        [("group", g) for g in group or ()]
        + [(k, v) for k, v in (("date_from", date_from), ("date_to", date_to)) if v]
        + [(k, "true") for k, on in (("exclude_prorated", exclude_prorated),) if on]
    )
    page_query = urlencode([("reference", "true")]) if reference else ""
    context = {
        "summary": summary,
        "forest": Markup(charts.forest_plot(_forest_rows(summary))),
        "paired_charts": paired_charts,
        "practice": _practice_table(summary.adherence, page),
        "query": "&".join(part for part in (query, page_query) if part),
        "reference": reference,
        "exclude_prorated": exclude_prorated,
        "all_groups": groups_service.visible_groups(session, viewer=user),
        "chosen": {g.upper() for g in group or ()},
        "form": {"date_from": date_from or "", "date_to": date_to or ""},
        "errors": errors,
        "json_url": "/api/v1/outcomes/summary" + (f"?{query}" if query else ""),
        "flags": safety_flags.open_safety_flags(session, viewer=user),
        "timepoint_name": timepoint_name,
    }
    return render(request, "outcomes/summary.html", context, status_code=422 if errors else 200)


@router.get("/outcomes/patients/{code}")
def patient_summary_page(
    request: Request, code: str, user: StaffUser, session: SessionDep
) -> Response:
    """A printable summary of one patient's outcomes, for the medical record (audited)."""
    summary = patient_view.patient_summary(session, participant_code=code, viewer=user)
    known = instrument_registry.instruments()
    trajectories = {
        instrument_id: Markup(
            charts.trajectory(
                [(short_timepoint(a.timepoint), a.score_total or 0) for a in administrations],
                low=known[instrument_id].scoring.range.min,
                high=known[instrument_id].scoring.range.max,
                title=f"{known[instrument_id].short_name} over time",
                ident=f"trajectory-{instrument_id}",
            )
        )
        for instrument_id, administrations in summary.series.items()
    }
    context = {
        "summary": summary,
        "instruments": known,
        "trajectories": trajectories,
        "timepoint_name": timepoint_name,
        "entry_instruments": instrument_registry.ordered_instruments(),
    }
    return render(request, "outcomes/patient.html", context)


def _entry_context(
    session: SessionDep, user: StaffUser, code: str, instrument_id: str, timepoint: str
) -> dict[str, Any]:
    enrolment, group = patient_view.get_patient_for_staff(
        session, participant_code=code, viewer=user
    )
    instrument = instrument_registry.get_instrument(instrument_id)
    existing = due_windows.current_submission(
        session, enrolment_id=enrolment.id or 0, instrument_id=instrument.id, timepoint=timepoint
    )
    return {
        "enrolment": enrolment,
        "group": group,
        "instrument": instrument,
        "timepoint": timepoint,
        "timepoint_name": timepoint_name(timepoint),
        "by_total": not instrument_registry.has_item_text(instrument),
        "existing": existing,
        "choices": {i: _choices(instrument, i) for i in instrument.item_ids},
        "answers": {},
        "form": {},
        "errors": {},
    }


@router.get("/outcomes/patients/{code}/enter")
def paper_form_page(
    request: Request,
    code: str,
    user: StaffUser,
    session: SessionDep,
    instrument: str = "phq9",
    timepoint: str = "baseline",
) -> Response:
    """Enter a paper questionnaire on the patient's behalf (or correct a stored one)."""
    context = _entry_context(session, user, code, instrument, timepoint)
    return render(request, "outcomes/enter.html", context)


@router.post("/outcomes/patients/{code}/enter", dependencies=[Depends(verify_csrf_form)])
async def paper_form_submit(
    request: Request, code: str, user: StaffUser, session: SessionDep
) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    context = _entry_context(
        session, user, code, form.get("instrument", ""), form.get("timepoint", "")
    )
    instrument: Instrument = context["instrument"]
    context["form"] = form
    total: float | None = None
    answers: dict[str, int | None] | None = None
    if context["by_total"]:
        raw = form.get("total", "").strip()
        try:
            total = float(raw)
        except ValueError:
            context["errors"] = {"total": "Enter the total score as a number."}
            return render(request, "outcomes/enter.html", context, status_code=422)
    else:
        answers = _form_answers(form, instrument)
        context["answers"] = {k: str(v) for k, v in answers.items() if v is not None}
    try:
        questionnaires.enter_paper_form(
            session,
            staff=user,
            enrolment=context["enrolment"],
            instrument_id=instrument.id,
            timepoint=context["timepoint"],
            answers=answers,
            total=total,
            correction=form.get("correction") == "yes",
        )
    except questionnaires.FormRefused as error:
        # Refused, but its risk answer is on the safety flag: the route returns, so it commits.
        field = (error.field or "form").removeprefix("answers.")
        context["errors"] = {field: error.message, "form": error.message}
        context["flag_kept"] = True
        return render(request, "outcomes/enter.html", context, status_code=error.status_code)
    except AppError as error:
        session.rollback()
        field = (error.field or "form").removeprefix("answers.")
        context["errors"] = {field: error.message, "form": error.message}
        return render(request, "outcomes/enter.html", context, status_code=error.status_code)
    return RedirectResponse(
        f"/outcomes/patients/{context['enrolment'].participant_code}?entered=1", status_code=303
    )


@router.get("/outcomes/safety-flags/{flag_id}")
def safety_flag_page(
    request: Request, flag_id: int, user: StaffUser, session: SessionDep
) -> Response:
    """One flag: the latest answer in words, its history, and the acknowledgement form."""
    view = safety_flags.get_safety_flag(session, flag_id=flag_id, viewer=user)
    return render(request, "outcomes/safety_flag.html", _flag_context(view))


def _flag_context(view: safety_flags.FlagView, **extra: Any) -> dict[str, Any]:
    return {
        "view": view,
        "actions": safety_flags.ACTIONS,
        "timepoint_name": timepoint_name,
        "errors": {},
        "values": {},
        **extra,
    }


@router.post(
    "/outcomes/safety-flags/{flag_id}/acknowledge", dependencies=[Depends(verify_csrf_form)]
)
async def acknowledge_flag(
    request: Request, flag_id: int, user: StaffUser, session: SessionDep
) -> Response:
    """Acknowledge a safety flag as the signed-in staff member, saying what was done."""
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in ("action", "note")}
    try:
        safety_flags.acknowledge_safety_flag(session, flag_id=flag_id, viewer=user, **values)
    except InvalidInput as error:
        session.rollback()
        view = safety_flags.get_safety_flag(session, flag_id=flag_id, viewer=user)
        errors = {error.field or "action": error.message}
        context = _flag_context(view, errors=errors, values=values)
        return render(request, "outcomes/safety_flag.html", context, status_code=422)
    return RedirectResponse(f"/outcomes/safety-flags/{flag_id}?acknowledged=1", status_code=303)
