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
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
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


def _check_values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int | None]:
    checked: dict[str, int | None] = {}
    for item_id, value in answers.items():
        if item_id not in instrument.item_ids:
            raise InvalidInput(
                f"{instrument.short_name} has no question {item_id!r}.", field=f"answers.{item_id}"
            )
        allowed = instrument.allowed_values(item_id)
        if value is not None and (type(value) is not int or value not in allowed):
            raise InvalidInput(
                f"{value!r} is not one of the answers to this question "
                f"({', '.join(map(str, allowed))}).",
                field=f"answers.{item_id}",
            )
        checked[item_id] = value
    return checked


class IncompleteQuestionnaire(InvalidInput):
    """Submitted with questions unanswered. The answers given are kept as a draft (and any
    safety flag stays raised): callers that catch this let the session commit."""

    def __init__(self, saved: SubmitOutcome, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.saved = saved


@dataclass(frozen=True)
class SubmitOutcome:
    """A stored administration and, when an answer called for it, the crisis text to show now."""

    administration: Administration
    flag: SafetyFlag | None
    crisis_text: str | None


def save_draft(
    session: Session,
    *,
    enrolment: Enrolment,
    group: Group,
    instrument_id: str,
    timepoint: str,
    answers: Mapping[str, Any],
    today: date,
) -> SubmitOutcome:
    """Save answers part-way; a risk answer raises its safety flag at once, even in a draft."""
    item = due_item(
        session,
        enrolment=enrolment,
        group=group,
        instrument_id=instrument_id,
        timepoint=timepoint,
        today=today,
    )
    checked = _check_values(item.instrument, answers)
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
    flag = safety_flags.raise_safety_flag(session, instrument=item.instrument, administration=draft)
    return SubmitOutcome(
        draft, flag, safety_flags.crisis_text_for(session, group=group) if flag else None
    )


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
    )
    draft = saved.administration
    instrument = get_instrument(instrument_id)
    unanswered = [i for i in instrument.item_ids if draft.answers.get(i) is None]
    if unanswered:
        # On screen every question can be answered; prorating is for paper forms staff enter.
        raise IncompleteQuestionnaire(
            saved,
            f"Please answer every question before sending: {len(unanswered)} still to answer "
            f"(question {instrument.item_ids.index(unanswered[0]) + 1} is the first).",
            field=f"answers.{unanswered[0]}",
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
    """Score and store a complete administration (paper forms, corrections, demo data)."""
    instrument = get_instrument(instrument_id)
    check_timepoint(instrument, timepoint, weeks=weeks)
    if (answers is None) == (total is None):
        raise InvalidInput("Give either the answers or the total, not both.", field="total")
    try:
        if total is not None:
            result = score_from_total(instrument, total)
        else:
            assert answers is not None
            result = score(instrument, dict(_check_values(instrument, answers)))
    except InvalidAnswer as error:
        raise InvalidInput(str(error), field=f"answers.{error.item_id}") from error
    except IncompleteAnswers as error:
        raise InvalidInput(str(error), field=f"answers.{error.item_ids[0]}") from error
    except ScoringError as error:
        raise InvalidInput(str(error), field="total") from error
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
    flag = safety_flags.raise_safety_flag(
        session, instrument=instrument, administration=administration
    )
    return administration, flag


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
