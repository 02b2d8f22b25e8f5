"""Questionnaires: drafts, submission and scoring, paper forms and corrections entered by
staff, and the submitted administrations that count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.clinics.models import User
from app.db import utcnow
from app.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes import safety as safety_flags
from app.outcomes.definitions import Instrument
from app.outcomes.due import (
    DEFAULT_WEEKS,
    check_timepoint,
    current_submission,
    due_item,
    programme_weeks,
)
from app.outcomes.instruments import get_instrument
from app.outcomes.models import Administration, AdministrationStatus, SafetyFlag
from app.outcomes.scoring import (
    IncompleteAnswers,
    InvalidAnswer,
    Score,
    ScoringError,
    score,
    score_from_total,
)


def _check_values(
    instrument: Instrument, answers: Mapping[str, Any]
) -> tuple[dict[str, int | None], dict[str, str]]:
    """The well-formed answers, and a message for each malformed one by its field."""
    checked: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for item_id, value in answers.items():
        if item_id not in instrument.item_ids:
            errors[f"answers.{item_id}"[:80]] = f"{instrument.short_name} has no such question."
            continue
        allowed = instrument.allowed_values(item_id)
        if value is not None and (type(value) is not int or value not in allowed):
            errors[f"answers.{item_id}"] = (
                f"{value!r:.40} is not one of the answers to this question "
                f"({', '.join(map(str, allowed))})."
            )
            continue
        checked[item_id] = value
    return checked, errors


class FormRefused(InvalidInput):
    """A refused form, with what it must not lose already kept: its risk answer on the safety
    flag (``crisis_text`` is then the support to show now) and, while its window is open, its
    well-formed answers in the draft. Callers that catch this let the session commit."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None,
        errors: Mapping[str, str],
        crisis_text: str | None,
        draft: Administration | None = None,
        status_code: int = 422,
    ) -> None:
        super().__init__(message, field=field)
        self.errors = dict(errors) or {field or "form": message}
        self.crisis_text = crisis_text
        self.draft = draft
        self.status_code = status_code


@dataclass(frozen=True)
class SubmitOutcome:
    """A stored administration and, when an answer called for it, the crisis text to show now."""

    administration: Administration
    flag: SafetyFlag | None
    crisis_text: str | None


def _crisis_text(session: Session, group: Group, flag: SafetyFlag | None) -> str | None:
    return safety_flags.crisis_text_for(session, group=group) if flag else None


def save_draft(
    session: Session,
    *,
    enrolment: Enrolment,
    group: Group,
    instrument_id: str,
    timepoint: str,
    answers: Mapping[str, Any],
    today: date,
    how: str = "draft",
) -> SubmitOutcome:
    """Save answers part-way. A risk answer is recorded first, before anything else is checked:
    a closed window, a form already sent or a malformed answer still leaves the flag raised
    (FormRefused carries the crisis text), and malformed answers leave the rest in the draft."""
    instrument = get_instrument(instrument_id)
    flag = safety_flags.record_risk_answers(
        session,
        enrolment=enrolment,
        group=group,
        instrument=instrument,
        timepoint=timepoint,
        answers=answers,
        how=how,
    )
    crisis_text = _crisis_text(session, group, flag)
    try:
        item = due_item(
            session,
            enrolment=enrolment,
            group=group,
            instrument_id=instrument_id,
            timepoint=timepoint,
            today=today,
        )
    except AppError as error:
        if flag is None:
            raise
        safety_flags.mark_refused(session, flag)
        errors = {error.field: error.message} if error.field else {}
        raise FormRefused(
            error.message,
            field=error.field,
            errors=errors,
            crisis_text=crisis_text,
            status_code=error.status_code,
        ) from error
    checked, errors = _check_values(item.instrument, answers)
    draft = item.draft or Administration(
        enrolment_id=enrolment.id or 0,
        instrument_id=item.instrument.id,
        instrument_version=item.instrument.version,
        timepoint=timepoint,
    )
    # A new dict, so SQLAlchemy sees the JSON column change.
    draft.answers = {**draft.answers, **checked}
    session.add(draft)
    session.flush()
    safety_flags.attach_administration(session, flag, draft.id or 0)
    if errors:
        safety_flags.mark_refused(session, flag)
        field, message = next(iter(errors.items()))
        raise FormRefused(message, field=field, errors=errors, crisis_text=crisis_text, draft=draft)
    return SubmitOutcome(draft, flag, crisis_text)


def _store_score(administration: Administration, result: Score) -> None:
    administration.score_total = result.total
    administration.score_band = result.band
    administration.is_case = result.is_case
    administration.entered_as_total = result.entered_as_total
    administration.prorated = result.prorated


def submit_questionnaire(
    session: Session,
    *,
    enrolment: Enrolment,
    group: Group,
    instrument_id: str,
    timepoint: str,
    answers: Mapping[str, Any] | None = None,
    today: date,
) -> SubmitOutcome:
    """Score and store the patient's answers for good; every question must be answered."""
    saved = save_draft(
        session,
        enrolment=enrolment,
        group=group,
        instrument_id=instrument_id,
        timepoint=timepoint,
        answers=answers or {},
        today=today,
        how="sent",
    )
    draft = saved.administration
    instrument = get_instrument(instrument_id)
    # The answers saved earlier count as sent now (the request may carry none of them).
    flag = safety_flags.record_risk_answers(
        session,
        enrolment=enrolment,
        group=group,
        instrument=instrument,
        timepoint=timepoint,
        answers=draft.answers,
        how="sent",
        administration_id=draft.id,
    )
    saved = SubmitOutcome(draft, flag, _crisis_text(session, group, flag))
    unanswered = [i for i in instrument.item_ids if draft.answers.get(i) is None]
    if unanswered:
        # On screen every question can be answered; prorating is for paper forms staff enter.
        safety_flags.mark_refused(session, flag)
        message = (
            f"Please answer every question before sending: {len(unanswered)} still to answer "
            f"(question {instrument.item_ids.index(unanswered[0]) + 1} is the first)."
        )
        raise FormRefused(
            message,
            field=f"answers.{unanswered[0]}",
            errors={f"answers.{i}": "Please answer this question." for i in unanswered},
            crisis_text=saved.crisis_text,
            draft=draft,
        )
    _store_score(draft, score(instrument, draft.answers))
    draft.status = AdministrationStatus.submitted
    draft.submitted_at = utcnow()
    session.add(draft)
    session.flush()
    return saved


def record_administration(
    session: Session,
    *,
    enrolment: Enrolment,
    instrument_id: str,
    timepoint: str,
    submitted_at: datetime,
    answers: Mapping[str, Any] | None = None,
    total: float | None = None,
    entered_by: User | None = None,
    supersedes: Administration | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> tuple[Administration, SafetyFlag | None]:
    """Score and store a complete administration (paper forms, corrections, demo data). A risk
    answer is recorded on the safety flag first, so a form refused as incomplete or malformed
    still raises it (FormRefused)."""
    instrument = get_instrument(instrument_id)
    group = groups_service.get_group(session, enrolment.group_id)
    flag = safety_flags.record_risk_answers(
        session,
        enrolment=enrolment,
        group=group,
        instrument=instrument,
        timepoint=timepoint,
        answers=answers or {},
        how="correction" if supersedes else "paper",
        at=submitted_at,
    )
    try:
        result = _checked_score(instrument, timepoint, answers=answers, total=total, weeks=weeks)
    except InvalidInput as error:
        if flag is None:
            raise
        safety_flags.mark_refused(session, flag)
        errors = {error.field: error.message} if error.field else {}
        raise FormRefused(
            error.message, field=error.field, errors=errors, crisis_text=None
        ) from error
    administration = Administration(
        enrolment_id=enrolment.id or 0,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        timepoint=timepoint,
        status=AdministrationStatus.submitted,
        answers=dict(answers or {}),
        started_at=submitted_at,
        submitted_at=submitted_at,
        staff_entered=entered_by is not None,
        entered_by_user_id=entered_by.id if entered_by else None,
        supersedes_id=supersedes.id if supersedes else None,
    )
    _store_score(administration, result)
    session.add(administration)
    session.flush()
    safety_flags.attach_administration(session, flag, administration.id or 0)
    return administration, flag


def _checked_score(
    instrument: Instrument,
    timepoint: str,
    *,
    answers: Mapping[str, Any] | None,
    total: float | None,
    weeks: int,
) -> Score:
    """The score of a complete form, or InvalidInput naming what is wrong with it."""
    check_timepoint(instrument, timepoint, weeks=weeks)
    if (answers is None) == (total is None):
        raise InvalidInput("Give either the answers or the total, not both.", field="total")
    try:
        if total is not None:
            return score_from_total(instrument, total)
        assert answers is not None
        checked, errors = _check_values(instrument, answers)
        if errors:
            field, message = next(iter(errors.items()))
            raise InvalidInput(message, field=field)
        return score(instrument, dict(checked))
    except InvalidAnswer as error:
        raise InvalidInput(str(error), field=f"answers.{error.item_id}") from error
    except IncompleteAnswers as error:
        raise InvalidInput(str(error), field=f"answers.{error.item_ids[0]}") from error
    except ScoringError as error:
        raise InvalidInput(str(error), field="total") from error


def enter_paper_form(
    session: Session,
    *,
    staff: User,
    enrolment: Enrolment,
    instrument_id: str,
    timepoint: str,
    answers: Mapping[str, Any] | None = None,
    total: float | None = None,
    correction: bool = False,
) -> tuple[Administration, SafetyFlag | None]:
    """Enter a paper questionnaire on a patient's behalf (audited); a correction links back."""
    if not staff.is_staff:
        raise Forbidden("Only clinic staff can enter a paper form.")
    group = groups_service.get_group(session, enrolment.group_id)
    existing = current_submission(
        session, enrolment_id=enrolment.id or 0, instrument_id=instrument_id, timepoint=timepoint
    )
    if existing is not None and not correction:
        raise Conflict(
            f"{enrolment.participant_code} already has a {instrument_id} score for {timepoint}. "
            "Choose 'correct' to replace it with a new, linked version.",
        )
    if existing is None and correction:
        raise InvalidInput("There is nothing to correct yet.", field="correction")
    administration, flag = record_administration(
        session,
        enrolment=enrolment,
        instrument_id=instrument_id,
        timepoint=timepoint,
        submitted_at=utcnow(),
        answers=answers,
        total=total,
        entered_by=staff,
        supersedes=existing,
        weeks=programme_weeks(session, group),
    )
    audit.record(
        session,
        action="correct_questionnaire" if correction else "enter_paper_questionnaire",
        actor=staff,
        clinic_id=group.clinic_id,
        object_type="administration",
        object_id=administration.id,
        instrument=instrument_id,
        timepoint=timepoint,
        supersedes=existing.id if existing else None,
    )
    return administration, flag


def get_administration_for_patient(
    session: Session, *, enrolment: Enrolment, administration_id: int
) -> tuple[Administration, SafetyFlag | None]:
    """The patient's own administration and its safety flag, if any."""
    administration = session.get(Administration, administration_id)
    if administration is None or administration.enrolment_id != enrolment.id:
        raise NotFound("No such questionnaire.")
    flag = session.exec(
        select(SafetyFlag).where(SafetyFlag.administration_id == administration.id)
    ).first()
    return administration, flag


def current_administrations(session: Session, enrolment_ids: Sequence[int]) -> list[Administration]:
    """Current submitted administrations (corrections replace what they supersede)."""
    if not enrolment_ids:
        return []
    rows = session.exec(
        select(Administration)
        .where(
            col(Administration.enrolment_id).in_(enrolment_ids),
            Administration.status == AdministrationStatus.submitted,
        )
        .order_by(col(Administration.id))
    ).all()
    replaced = {row.supersedes_id for row in rows if row.supersedes_id is not None}
    return [row for row in rows if row.id not in replaced]
