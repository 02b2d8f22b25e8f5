"""Questionnaires over time: what is due, drafts, submission and scoring, corrections, safety
flags, per-patient summaries, the group outcome summary and the rows of scores.csv and
item_responses.csv."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import ColumnElement
from sqlmodel import Session, case, col, func, select

from app.audit import service as audit
from app.clinics import service as clinics_service
from app.clinics.models import Role, User
from app.config import get_settings
from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes.definitions import INSTRUMENTS_DIR, Instrument, load_instruments
from app.outcomes.models import Administration, AdministrationStatus, SafetyFlag
from app.outcomes.reliable_change import (
    ChangeAssessment,
    NoReliableChangeRule,
    assess_change,
    count_categories,
    improvement,
)
from app.outcomes.scoring import (
    IncompleteAnswers,
    InvalidAnswer,
    Score,
    ScoringError,
    safety_triggered,
    score,
    score_from_total,
)
from app.practice import service as practice_service
from app.programme import service as programme_service
from app.programme.adherence import AdherenceRule

if TYPE_CHECKING:
    from app.outcomes.effect_size import Correlation, PairedSummary

STANDARD_TIMEPOINTS = ("baseline", "end", "follow_up")
WEEKLY = re.compile(r"^week_([1-9][0-9]?)$")
# Measures in the order the study reported them, then anything a clinic adds.
MEASURE_ORDER = ("pain_distress", "pain_intensity", "gad7", "phq9", "pseq", "scs_sf", "peg")
PAIRS = (("baseline", "end"), ("baseline", "follow_up"))
PAIRED_TIMEPOINTS = tuple(dict.fromkeys(timepoint for pair in PAIRS for timepoint in pair))
TALKING_THERAPIES_MEASURES = ("phq9", "gad7")
MIN_PAIRS = 5
DAYS_PER_WEEK = 7
BASELINE_OPENS_BEFORE = timedelta(days=14)
END_CLOSES_AFTER = timedelta(weeks=3)
FOLLOW_UP_AFTER = timedelta(days=91)
FOLLOW_UP_HALF_WIDTH = timedelta(weeks=3)
DEFAULT_WEEKS = 8

LIMITS = (
    "These are before-and-after figures from the same people, with no comparison group. "
    "Change can come from the group, but also from time, natural recovery, regression to "
    "the mean (people often join when they feel worst), other treatment, or from who stayed "
    "to answer at the end. Effect sizes from small groups are imprecise: read the intervals, "
    "not only the headline number."
)

EFFECT_SIZE_LABELS = {
    "d_av": "Cohen's d_av: mean change / average of the pre and post SDs (headline)",
    "g_av": "Hedges' g_av: d_av x (1 - 3 / (4(n - 1) - 1)), 95% CI from the noncentral t",
    "d_z": "Cohen's d_z: mean change / SD of the changes",
}


def instrument_directories() -> list[Path]:
    """The shipped instruments, then the clinic's own (``$TEND_DATA_DIR/instruments``)."""
    own = get_settings().data_dir / "instruments"
    return [INSTRUMENTS_DIR, *([own] if own.is_dir() else [])]


def load_instrument_directories(directories: Sequence[Path]) -> dict[str, Instrument]:
    """Instruments from each directory in turn; a later file with the same id replaces one
    before it (so a clinic's copy of pseq.yaml with its licensed item text wins)."""
    known: dict[str, Instrument] = {}
    for directory in directories:
        known.update(load_instruments(directory))
    return known


@lru_cache(maxsize=1)
def instruments() -> dict[str, Instrument]:
    """Every instrument Tend knows, by id (read once per process: restart after adding one)."""
    return load_instrument_directories(instrument_directories())


def get_instrument(instrument_id: str) -> Instrument:
    """The instrument with this id; 404 when there is none."""
    found = instruments().get(instrument_id)
    if found is None:
        raise NotFound(f"No questionnaire {instrument_id!r}.")
    return found


def ordered_instruments() -> list[Instrument]:
    """Instruments in reporting order."""
    known = instruments()
    rank = {key: index for index, key in enumerate(MEASURE_ORDER)}
    return sorted(known.values(), key=lambda i: (rank.get(i.id, len(rank)), i.id))


def has_item_text(instrument: Instrument) -> bool:
    """Whether a patient can answer it on screen (the PSEQ ships without item text)."""
    return all(item.text for item in instrument.items)


# ---------------------------------------------------------------- timepoints and due windows


@dataclass(frozen=True)
class Window:
    """When a timepoint's questionnaires may be filled in (both days included)."""

    timepoint: str
    opens_on: date
    closes_on: date
    optional: bool = False

    def contains(self, day: date) -> bool:
        """Whether ``day`` is inside the window."""
        return self.opens_on <= day <= self.closes_on


def _programme_weeks(session: Session, group: Group) -> int:
    programme = programme_service.get_programme(session, group.programme_id)
    weeks = programme_service.adherence_rule(session, programme).total_weeks
    return weeks or DEFAULT_WEEKS


def programme_end(group: Group, weeks: int) -> date:
    """The last day of the programme's last week."""
    return group.start_date + timedelta(days=DAYS_PER_WEEK * weeks - 1)


def timepoint_windows(group: Group, *, weeks: int = DEFAULT_WEEKS) -> list[Window]:
    """Baseline, weekly brief ratings, end and follow-up windows for a group's dates."""
    start, end = group.start_date, programme_end(group, weeks)
    windows = [
        Window("baseline", start - BASELINE_OPENS_BEFORE, start + timedelta(days=6)),
    ]
    for number in range(1, weeks + 1):
        first = groups_service.week_start(group, number)
        windows.append(Window(f"week_{number}", first, first + timedelta(days=6), optional=True))
    windows.append(Window("end", groups_service.week_start(group, weeks), end + END_CLOSES_AFTER))
    follow_up = end + FOLLOW_UP_AFTER
    windows.append(
        Window("follow_up", follow_up - FOLLOW_UP_HALF_WIDTH, follow_up + FOLLOW_UP_HALF_WIDTH)
    )
    return windows


def _instrument_timepoint(instrument: Instrument, timepoint: str) -> bool:
    if WEEKLY.match(timepoint):
        return "weekly" in instrument.timepoints
    return timepoint in instrument.timepoints


def check_timepoint(instrument: Instrument, timepoint: str, *, weeks: int) -> None:
    """Refuse a timepoint that does not exist or that this instrument is not given at."""
    weekly = WEEKLY.match(timepoint)
    valid = timepoint in STANDARD_TIMEPOINTS or (weekly and 1 <= int(weekly[1]) <= weeks)
    if not valid or not _instrument_timepoint(instrument, timepoint):
        raise InvalidInput(
            f"{instrument.short_name} is not given at {timepoint!r}.", field="timepoint"
        )


@dataclass(frozen=True)
class DueItem:
    """One questionnaire the patient may fill in now."""

    instrument: Instrument
    window: Window
    draft: Administration | None


def _latest(
    session: Session, *, enrolment_id: int, instrument_id: str, timepoint: str, status: str
) -> Administration | None:
    return session.exec(
        select(Administration)
        .where(
            Administration.enrolment_id == enrolment_id,
            Administration.instrument_id == instrument_id,
            Administration.timepoint == timepoint,
            Administration.status == status,
        )
        .order_by(col(Administration.id).desc())
    ).first()


def current_submission(
    session: Session, *, enrolment_id: int, instrument_id: str, timepoint: str
) -> Administration | None:
    """The submitted administration that counts (the newest correction, if any)."""
    return _latest(
        session,
        enrolment_id=enrolment_id,
        instrument_id=instrument_id,
        timepoint=timepoint,
        status=AdministrationStatus.submitted,
    )


OVERDUE_AFTER_DAYS = 7


def _open_questionnaires(
    session: Session, *, group: Group, enrolment_ids: Sequence[int], today: date
) -> dict[int, list[DueItem]]:
    """For each enrolment of the group, what is open today and not yet submitted; one query
    for all of them, so a board of fifteen patients does not ask the database 240 times."""
    weeks = _programme_weeks(session, group)
    windows = [w for w in timepoint_windows(group, weeks=weeks) if w.contains(today)]
    due: dict[int, list[DueItem]] = {enrolment_id: [] for enrolment_id in enrolment_ids}
    if not windows or not enrolment_ids:
        return due
    rows = session.exec(
        select(Administration)
        .where(
            col(Administration.enrolment_id).in_(enrolment_ids),
            col(Administration.timepoint).in_([w.timepoint for w in windows]),
        )
        .order_by(col(Administration.id))
    ).all()
    submitted = {
        (a.enrolment_id, a.instrument_id, a.timepoint)
        for a in rows
        if a.status == AdministrationStatus.submitted
    }
    drafts = {  # ordered by id, so the newest draft of each questionnaire wins
        (a.enrolment_id, a.instrument_id, a.timepoint): a
        for a in rows
        if a.status == AdministrationStatus.draft
    }
    offered = [
        (window, instrument)
        for window in windows
        for instrument in ordered_instruments()
        # Instruments without item text are entered by staff from the clinic's own form.
        if has_item_text(instrument) and _instrument_timepoint(instrument, window.timepoint)
    ]
    for enrolment_id in enrolment_ids:
        for window, instrument in offered:
            key = (enrolment_id, instrument.id, window.timepoint)
            if key not in submitted:
                due[enrolment_id].append(DueItem(instrument, window, drafts.get(key)))
    return due


def due_questionnaires(
    session: Session, *, enrolment: Enrolment, group: Group, today: date
) -> list[DueItem]:
    """What the patient may fill in today, not yet submitted; weekly ratings are optional."""
    enrolment_id = enrolment.id or 0
    return _open_questionnaires(session, group=group, enrolment_ids=[enrolment_id], today=today)[
        enrolment_id
    ]


def overdue_questionnaires(
    session: Session, *, group: Group, enrolment_ids: Sequence[int], today: date
) -> dict[int, list[DueItem]]:
    """Per enrolment: required questionnaires open for a week or more and still not sent."""
    return {
        enrolment_id: [
            item
            for item in items
            if not item.window.optional
            and (today - item.window.opens_on).days >= OVERDUE_AFTER_DAYS
        ]
        for enrolment_id, items in _open_questionnaires(
            session, group=group, enrolment_ids=enrolment_ids, today=today
        ).items()
    }


def due_item(
    session: Session,
    *,
    enrolment: Enrolment,
    group: Group,
    instrument_id: str,
    timepoint: str,
    today: date,
) -> DueItem:
    """The due questionnaire, or an error that says why not (already sent, not due, unknown)."""
    instrument = get_instrument(instrument_id)
    weeks = _programme_weeks(session, group)
    check_timepoint(instrument, timepoint, weeks=weeks)
    if (
        current_submission(
            session,
            enrolment_id=enrolment.id or 0,
            instrument_id=instrument.id,
            timepoint=timepoint,
        )
        is not None
    ):
        raise Conflict(
            f"You have already sent the {instrument.short_name} for this time. Thank you."
        )
    for item in due_questionnaires(session, enrolment=enrolment, group=group, today=today):
        if item.instrument.id == instrument.id and item.window.timepoint == timepoint:
            return item
    window = next(w for w in timepoint_windows(group, weeks=weeks) if w.timepoint == timepoint)
    raise InvalidInput(
        f"The {instrument.short_name} is not due now: it can be filled in from "
        f"{window.opens_on:%d %b %Y} to {window.closes_on:%d %b %Y}.",
        field="timepoint",
    )


# ------------------------------------------------------------------------ drafts and submission


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


def _raise_safety_flag(
    session: Session, *, instrument: Instrument, administration: Administration
) -> SafetyFlag | None:
    triggered = safety_triggered(instrument, administration.answers)
    if not triggered:
        return None
    assert administration.id is not None
    existing = session.exec(
        select(SafetyFlag).where(SafetyFlag.administration_id == administration.id)
    ).first()
    if existing is not None:
        return existing
    item_id = triggered[0]
    flag = SafetyFlag(
        enrolment_id=administration.enrolment_id,
        administration_id=administration.id,
        instrument_id=instrument.id,
        item_id=item_id,
        answer=int(administration.answers[item_id]),
        raised_at=administration.submitted_at or utcnow(),
    )
    session.add(flag)
    session.flush()
    return flag


def _crisis_text(session: Session, group: Group) -> str:
    return clinics_service.get_clinic(session, group.clinic_id).crisis_text


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
    flag = _raise_safety_flag(session, instrument=item.instrument, administration=draft)
    return SubmitOutcome(draft, flag, _crisis_text(session, group) if flag else None)


def _store_score(administration: Administration, result: Score) -> None:
    administration.score_total = result.total
    administration.score_band = result.band
    administration.is_case = result.is_case
    administration.entered_as_total = result.entered_as_total


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
    flag = _raise_safety_flag(session, instrument=instrument, administration=administration)
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
        weeks=_programme_weeks(session, group),
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


def crisis_text_for(session: Session, *, group: Group) -> str:
    """The clinic's support and crisis text."""
    return _crisis_text(session, group)


# ------------------------------------------------------------------------------- safety flags


@dataclass(frozen=True)
class FlagView:
    """An open safety flag with who it concerns."""

    flag: SafetyFlag
    participant_code: str
    group_code: str
    instrument: str


def open_safety_flags(session: Session, *, viewer: User) -> list[FlagView]:
    """Unacknowledged flags in the groups the viewer may see, oldest first."""
    if viewer.role == Role.patient:
        return []
    group_ids = [g.id or 0 for g in groups_service.visible_groups(session, viewer=viewer)]
    return open_safety_flags_in(session, group_ids=group_ids)


def open_safety_flags_in(session: Session, *, group_ids: Sequence[int]) -> list[FlagView]:
    """Unacknowledged flags in these groups, oldest first (callers check who may see them)."""
    if not group_ids:
        return []
    rows = session.exec(
        select(SafetyFlag, Enrolment.participant_code, Group.code)
        .join(Enrolment, col(Enrolment.id) == SafetyFlag.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids), col(SafetyFlag.acknowledged_at).is_(None))
        .order_by(col(SafetyFlag.raised_at), col(SafetyFlag.id))
    ).all()
    return [
        FlagView(flag, code, group_code, get_instrument(flag.instrument_id).short_name)
        for flag, code, group_code in rows
    ]


def acknowledge_safety_flag(session: Session, *, flag_id: int, viewer: User) -> SafetyFlag:
    """Mark a flag seen by the signed-in staff member, by name (audited)."""
    visible = {view.flag.id: view for view in open_safety_flags(session, viewer=viewer)}
    view = visible.get(flag_id)
    if view is None:
        raise NotFound("No open safety flag with that number that you can see.")
    flag = view.flag
    flag.acknowledged_at = utcnow()
    flag.acknowledged_by_user_id = viewer.id
    flag.acknowledged_by_name = viewer.display_name or viewer.login
    session.add(flag)
    group = session.exec(select(Group).where(Group.code == view.group_code)).one()
    audit.record(
        session,
        action="acknowledge_safety_flag",
        actor=viewer,
        clinic_id=group.clinic_id,
        object_type="safety_flag",
        object_id=flag.id,
        participant_code=view.participant_code,
    )
    return flag


# ---------------------------------------------------------------------------- per-patient view


def get_patient_for_staff(
    session: Session, *, participant_code: str, viewer: User
) -> tuple[Enrolment, Group]:
    """The enrolment with this code if the viewer may see its group; 404 otherwise."""
    enrolment = session.exec(
        select(Enrolment).where(Enrolment.participant_code == participant_code.strip().upper())
    ).first()
    visible = {g.id: g for g in groups_service.visible_groups(session, viewer=viewer)}
    if enrolment is None or enrolment.group_id not in visible:
        # The code is not echoed: a 404 page must not carry another clinic's identifiers.
        raise NotFound("No participant with that code that you can see.")
    return enrolment, visible[enrolment.group_id]


def _submitted(session: Session, enrolment_ids: Sequence[int]) -> list[Administration]:
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


def timepoint_rank(timepoint: str) -> tuple[int, int]:
    """Sort key: baseline, week_1..week_N, end, follow_up."""
    weekly = WEEKLY.match(timepoint)
    if weekly:
        return (1, int(weekly[1]))
    return ({"baseline": 0, "end": 2, "follow_up": 3}.get(timepoint, 4), 0)


@dataclass(frozen=True)
class PatientChange:
    """One instrument's change between two timepoints for one patient."""

    instrument: Instrument
    from_: str
    to: str
    pre: float
    post: float
    category: str | None
    important_improvement: bool | None
    recovered: bool | None
    reliable_recovery: bool | None


@dataclass(frozen=True)
class PatientSummary:
    """A patient's scores by instrument and timepoint, their changes and safety flags."""

    enrolment: Enrolment
    group: Group
    series: dict[str, list[Administration]]
    changes: list[PatientChange]
    flags: list[SafetyFlag]
    practice_days: int
    practice_minutes: int


def _baseline_sd(session: Session, *, group: Group, instrument_id: str) -> float | None:
    ids = [e.id or 0 for e in groups_service.enrolments(session, group=group)]
    values = [
        a.score_total
        for a in _submitted(session, ids)
        if a.instrument_id == instrument_id
        and a.timepoint == "baseline"
        and a.score_total is not None
    ]
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return float((sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5)


def patient_summary(session: Session, *, participant_code: str, viewer: User) -> PatientSummary:
    """One patient's outcomes for the medical record (the view is audited)."""
    enrolment, group = get_patient_for_staff(
        session, participant_code=participant_code, viewer=viewer
    )
    series: dict[str, list[Administration]] = defaultdict(list)
    for administration in _submitted(session, [enrolment.id or 0]):
        series[administration.instrument_id].append(administration)
    for values in series.values():
        values.sort(key=lambda a: timepoint_rank(a.timepoint))
    changes = []
    for instrument in ordered_instruments():
        by_time = {a.timepoint: a for a in series.get(instrument.id, [])}
        for first, second in PAIRS:
            if first in by_time and second in by_time:
                pre = by_time[first].score_total
                post = by_time[second].score_total
                assert pre is not None and post is not None
                sd = _baseline_sd(session, group=group, instrument_id=instrument.id)
                assessed = assess_change(instrument, pre, post, sample_sd=sd)
                changes.append(
                    PatientChange(
                        instrument,
                        first,
                        second,
                        pre,
                        post,
                        assessed.category.value if assessed.category else None,
                        assessed.important_improvement,
                        assessed.recovered,
                        assessed.reliable_recovery,
                    )
                )
    flags = list(
        session.exec(
            select(SafetyFlag)
            .where(SafetyFlag.enrolment_id == enrolment.id)
            .order_by(col(SafetyFlag.raised_at))
        ).all()
    )
    adherence = _adherence(session, groups=[group], rules=_adherence_rules(session, [group]))
    days, minutes = adherence.get(enrolment.id or 0, (0, 0))
    audit.record(
        session,
        action="view_patient_outcomes",
        actor=viewer,
        clinic_id=group.clinic_id,
        object_type="enrolment",
        object_id=enrolment.participant_code,
    )
    ordered = {i.id: series[i.id] for i in ordered_instruments() if i.id in series}
    return PatientSummary(enrolment, group, ordered, changes, flags, days, minutes)


# --------------------------------------------------------------------------- group summaries


def _adherence_rules(session: Session, groups: Sequence[Group]) -> dict[int, AdherenceRule]:
    """The adherence rule of each programme these groups run, by programme id."""
    return {
        programme_id: programme_service.adherence_rule(
            session, programme_service.get_programme(session, programme_id)
        )
        for programme_id in sorted({group.programme_id for group in groups})
    }


def _adherence(
    session: Session, *, groups: Sequence[Group], rules: Mapping[int, AdherenceRule]
) -> dict[int, tuple[int, int]]:
    """Practice days (by the programme's rule) and minutes in the programme weeks, for each
    patient who practised: one query per programme, however many groups and patients."""
    result = {}
    for programme_id, rule in rules.items():
        totals = practice_service.practice_totals(
            session,
            group_ids=[group.id or 0 for group in groups if group.programme_id == programme_id],
            weeks=rule.total_weeks or DEFAULT_WEEKS,
            practice_day_minutes=rule.minutes_per_day,
        )
        result.update(
            {
                enrolment_id: (total.practice_days, round(total.seconds / 60))
                for enrolment_id, total in totals.items()
            }
        )
    return result


@dataclass
class MeasureSummary:
    """One instrument between two timepoints, over the selected groups."""

    instrument: Instrument
    from_: str
    to: str
    stats: PairedSummary
    n_started: int
    pair_counts: Counter[tuple[float, float]]  # how many people have each (pre, post)
    reliable_change: dict[str, int] | None
    important_improvement: int | None
    talking_therapies: dict[str, int] | None
    practice_correlation: Correlation | None

    @property
    def label(self) -> str:
        """The measure and its timepoints in words."""
        names = {"baseline": "baseline", "end": "end", "follow_up": "follow-up"}
        return f"{self.instrument.short_name}, {names[self.from_]} to {names[self.to]}"

    def as_json(self) -> dict[str, Any]:
        """The CONTRACT fields, then the rest of what the page shows."""
        correlation = self.practice_correlation
        return {
            "instrument": self.instrument.id,
            "from": self.from_,
            "to": self.to,
            **self.stats.contract_fields(),
            **(
                self.reliable_change
                or dict.fromkeys(
                    ("reliable_improvement", "no_reliable_change", "reliable_deterioration")
                )
            ),
            "n_started": self.n_started,
            "too_few": self.stats.too_few,
            "effect_size_labels": EFFECT_SIZE_LABELS,
            "important_improvement": self.important_improvement,
            "talking_therapies": self.talking_therapies,
            "practice_days_spearman": None
            if correlation is None
            else {"rho": correlation.rho, "p": correlation.p, "n": correlation.n},
        }


@dataclass
class AdherenceRow:
    participant_code: str
    group_code: str
    practice_days: int
    minutes: int


@dataclass
class OutcomeSummary:
    """The outcome summary for a set of groups, as the clinician page and the CLI show it."""

    groups: list[Group]
    date_from: date | None
    date_to: date | None
    measures: list[MeasureSummary]
    adherence: list[AdherenceRow]
    adherence_rule: str
    limits: str = LIMITS
    extra: dict[str, Any] = field(default_factory=dict)
    # Patients who withdrew and had what they recorded erased: absent from every figure.
    erased_participants: int = 0

    def as_json(self) -> dict[str, Any]:
        """``{"measures": [...]}`` per CONTRACT, with the groups, limits and adherence beside."""
        return {
            "measures": [measure.as_json() for measure in self.measures],
            "groups": [group.code for group in self.groups],
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "limits": self.limits,
            "adherence_rule": self.adherence_rule,
            "erased_participants": self.erased_participants,
            "adherence": [
                {
                    "participant_code": row.participant_code,
                    "group_code": row.group_code,
                    "practice_days": row.practice_days,
                    "minutes": row.minutes,
                }
                for row in self.adherence
            ],
        }


def _select_groups(
    session: Session,
    *,
    viewer: User,
    group_codes: Sequence[str],
    date_from: date | None,
    date_to: date | None,
) -> list[Group]:
    visible = list(groups_service.visible_groups(session, viewer=viewer))
    if group_codes:
        by_code = {g.code: g for g in visible}
        chosen = []
        for code in group_codes:
            if code.strip().upper() not in by_code:
                raise NotFound(f"No group {code!r} that you can see.")
            chosen.append(by_code[code.strip().upper()])
        visible = chosen
    return [
        g
        for g in visible
        if (date_from is None or g.start_date >= date_from)
        and (date_to is None or g.start_date <= date_to)
    ]


def _talking_therapies(
    assessments: Mapping[tuple[float, float], ChangeAssessment],
    pair_counts: Counter[tuple[float, float]],
) -> dict[str, int]:
    counts = dict.fromkeys(
        (
            "case_at_baseline",
            "reliable_improvement",
            "recovery",
            "reliable_recovery",
            "reliable_deterioration",
        ),
        0,
    )
    for pair, people in pair_counts.items():
        assessed = assessments[pair]
        counts["case_at_baseline"] += people * bool(assessed.case_at_baseline)
        counts["reliable_improvement"] += people * (assessed.category == "reliable_improvement")
        counts["reliable_deterioration"] += people * (assessed.category == "reliable_deterioration")
        counts["recovery"] += people * bool(assessed.recovered)
        counts["reliable_recovery"] += people * bool(assessed.reliable_recovery)
    return counts


@dataclass(frozen=True)
class _Cohort:
    """Everyone in the chosen groups in participant-code order, the order of the pairs
    (Python's order, whatever the database collation), with each one's practice days."""

    position: dict[int, int]  # enrolment id -> place in code order
    practice_days: np.ndarray

    @classmethod
    def of(
        cls,
        participants: Sequence[groups_service.Participant],
        practice: Mapping[int, tuple[int, int]],
    ) -> _Cohort:
        by_code = sorted(participants, key=lambda p: p.participant_code)
        return cls(
            position={p.enrolment_id: place for place, p in enumerate(by_code)},
            practice_days=np.array([practice.get(p.enrolment_id, (0, 0))[0] for p in by_code]),
        )

    def column(self, places: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """One score per participant, in code order, from the scores of those at ``places``;
        NaN for everyone else."""
        column = np.full(len(self.position), np.nan)
        column[places] = scores
        return column


def _measure(
    instrument: Instrument,
    from_: str,
    to: str,
    scores: Mapping[tuple[str, str], np.ndarray],
    cohort: _Cohort,
) -> MeasureSummary:
    """One instrument from one timepoint to another; ``scores`` are columns in code order."""
    none = np.full(len(cohort.position), np.nan)
    before = scores.get((instrument.id, from_), none)
    after = scores.get((instrument.id, to), none)
    started = ~np.isnan(before)
    both = started & ~np.isnan(after)
    pre, post = before[both], after[both]
    # SciPy costs ~90 MB of memory to import; only summaries need it (not exports, the
    # patient app or the scheduler), so it is loaded here, on first use.
    from app.outcomes.effect_size import paired_summary, spearman

    stats = paired_summary(
        pre, post, higher_is_better=instrument.higher_is_better, min_pairs=MIN_PAIRS
    )
    # Scores take few distinct values: each distinct pair is assessed once, however many
    # people share it.
    pair_counts = Counter(zip(pre.tolist(), post.tolist(), strict=True))
    try:
        reliable: dict[str, int] | None = (
            count_categories(instrument, pair_counts, sample_sd=stats.pre_sd)
            if pair_counts
            else None
        )
    except NoReliableChangeRule:
        reliable = None
    talking_therapies = instrument.id in TALKING_THERAPIES_MEASURES
    assessed = (
        {pair: assess_change(instrument, *pair) for pair in pair_counts}
        if instrument.important_change is not None or talking_therapies
        else {}
    )
    important = None
    if instrument.important_change is not None and pair_counts:
        important = sum(
            people for pair, people in pair_counts.items() if assessed[pair].important_improvement
        )
    correlation = spearman(
        cohort.practice_days[both], improvement(instrument, pre, post), min_pairs=MIN_PAIRS
    )
    return MeasureSummary(
        instrument=instrument,
        from_=from_,
        to=to,
        stats=stats,
        n_started=int(started.sum()),
        pair_counts=pair_counts,
        reliable_change=reliable,
        important_improvement=important,
        talking_therapies=_talking_therapies(assessed, pair_counts)
        if pair_counts and talking_therapies
        else None,
        practice_correlation=correlation,
    )


def _adherence_rows(
    groups: Sequence[Group],
    participants: Sequence[groups_service.Participant],
    practice: Mapping[int, tuple[int, int]],
) -> list[AdherenceRow]:
    """Each patient's practice, group by group in the order given, by code within each."""
    position = {group.id: index for index, group in enumerate(groups)}
    group_code = {group.id: group.code for group in groups}
    in_order = sorted(participants, key=lambda p: position[p.group_id])  # stable: codes stay sorted
    return [
        AdherenceRow(
            p.participant_code, group_code[p.group_id], *practice.get(p.enrolment_id, (0, 0))
        )
        for p in in_order
    ]


def _current_scores(group_ids: Sequence[int]) -> list[ColumnElement[bool]]:
    """Submitted scores of these groups' patients that no correction has replaced:
    ``_submitted``'s rule, for the database to apply."""
    corrected = select(Administration.supersedes_id).where(
        col(Administration.supersedes_id).is_not(None),
        col(Administration.status) == AdministrationStatus.submitted,
    )
    return [
        col(Administration.enrolment_id).in_(
            select(Enrolment.id).where(col(Enrolment.group_id).in_(group_ids))
        ),
        col(Administration.status) == AdministrationStatus.submitted,
        col(Administration.score_total).is_not(None),
        col(Administration.id).not_in(corrected),
    ]


def _paired_timepoint_scores(
    session: Session, *, group_ids: Sequence[int], cohort: _Cohort
) -> dict[tuple[str, str], np.ndarray]:
    """Scores at the timepoints the summary pairs, by (instrument, timepoint), as columns in
    participant-code order, for everyone in these groups (weekly ratings are not paired, so
    not read)."""
    current = (*_current_scores(group_ids), col(Administration.timepoint).in_(PAIRED_TIMEPOINTS))
    scored_at, total = col(Administration.timepoint), col(Administration.score_total)
    # A clinic has hundreds of thousands of scores: the database sends one plain row per
    # patient and instrument with its scores side by side, and how many it found.
    rows = (
        session.connection()
        .execute(
            select(
                Administration.enrolment_id,
                Administration.instrument_id,
                func.count(),
                *(func.max(case((scored_at == name, total))) for name in PAIRED_TIMEPOINTS),
            )
            .where(*current)
            .group_by(col(Administration.enrolment_id), col(Administration.instrument_id))
        )
        .all()
    )
    if not rows:
        return {}
    # Column by column, not row by row: a clinic sends back 70,000 rows.
    enrolment_ids, instrument_ids, found, *at_timepoints = zip(*rows, strict=True)
    places = np.fromiter(map(cohort.position.__getitem__, enrolment_ids), np.intp, len(rows))
    instrument_of = np.array(instrument_ids)
    scores = np.array(at_timepoints, dtype=float)  # a row per timepoint; None becomes NaN
    columns = {}
    for instrument_id in instruments():
        theirs = instrument_of == instrument_id
        if theirs.any():
            for timepoint, scores_then in zip(PAIRED_TIMEPOINTS, scores, strict=True):
                columns[(instrument_id, timepoint)] = cohort.column(
                    places[theirs], scores_then[theirs]
                )
    # More scores than timepoints filled: a questionnaire was sent twice for one timepoint.
    repeated = np.flatnonzero(np.array(found) > (~np.isnan(scores)).sum(axis=0))
    if len(repeated):
        enrolments = [enrolment_ids[index] for index in repeated]
        _newest_of_repeated(session, current, enrolments, columns, cohort)
    return columns


def _newest_of_repeated(
    session: Session,
    current: Sequence[ColumnElement[bool]],
    enrolment_ids: Sequence[int],
    columns: Mapping[tuple[str, str], np.ndarray],
    cohort: _Cohort,
) -> None:
    """A questionnaire submitted twice for one timepoint (a race the service refuses in
    order, not at once): the newer score counts, as on the patient's own summary."""
    rows = session.connection().execute(
        select(
            Administration.enrolment_id,
            Administration.instrument_id,
            Administration.timepoint,
            Administration.score_total,
        )
        .where(*current, col(Administration.enrolment_id).in_(enrolment_ids))
        .order_by(col(Administration.id))
    )
    for enrolment_id, instrument_id, timepoint, total in rows:
        if (instrument_id, timepoint) in columns:
            columns[(instrument_id, timepoint)][cohort.position[enrolment_id]] = total


def _scored_instruments(
    session: Session, *, group_ids: Sequence[int], among: Collection[str]
) -> set[str]:
    """Which of ``among`` have a score at any timepoint in these groups: an instrument with
    only weekly ratings so far still gets its rows in the summary."""
    query = (
        select(Administration.instrument_id)
        .where(col(Administration.instrument_id).in_(among), *_current_scores(group_ids))
        .distinct()
    )
    return set(session.exec(query).all())


def summarise_outcomes(
    session: Session,
    *,
    viewer: User,
    group_codes: Sequence[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
) -> OutcomeSummary:
    """Pre-post statistics per instrument and pair of timepoints over the chosen groups."""
    if viewer.role == Role.patient:
        raise Forbidden("This page is for staff.")
    groups = _select_groups(
        session, viewer=viewer, group_codes=group_codes, date_from=date_from, date_to=date_to
    )
    group_ids = [group.id or 0 for group in groups]
    rules = _adherence_rules(session, groups)
    practice = _adherence(session, groups=groups, rules=rules)
    participants = groups_service.participants(session, group_ids=group_ids)
    cohort = _Cohort.of(participants, practice)
    scores = _paired_timepoint_scores(session, group_ids=group_ids, cohort=cohort)
    scored = {instrument_id for instrument_id, _ in scores}
    scored |= _scored_instruments(session, group_ids=group_ids, among=set(instruments()) - scored)
    measures = []
    for instrument in ordered_instruments():
        if instrument.id not in scored:
            continue
        for from_, to in PAIRS:
            measure = _measure(instrument, from_, to, scores, cohort)
            if to == "end" or measure.stats.n_pairs > 0:
                measures.append(measure)
    audit.record(
        session,
        action="view_outcome_summary",
        actor=viewer,
        object_type="groups",
        object_id=",".join(g.code for g in groups)[:64],
    )
    return OutcomeSummary(
        groups=groups,
        date_from=date_from,
        date_to=date_to,
        measures=measures,
        adherence=_adherence_rows(groups, participants, practice),
        # The page states one rule: that of the last group's programme.
        adherence_rule=rules[groups[-1].programme_id].describe() if groups else "",
        erased_participants=groups_service.erased_count(session, group_ids=group_ids),
    )


# ----------------------------------------------------------------------------------- exports


def exported_administrations(
    session: Session, *, group_ids: Sequence[int]
) -> Iterator[tuple[Administration, str, str]]:
    """Each submitted administration no correction has replaced, with its participant and
    group codes, in export order (group, participant, instrument, timepoint)."""
    if not group_ids:
        return
    enrolments = session.exec(
        select(Enrolment, Group.code)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
    ).all()
    who = {e.id: (e.participant_code, code) for e, code in enrolments}
    rows = _submitted(session, [e.id or 0 for e, _ in enrolments])
    rows.sort(
        key=lambda a: (
            who[a.enrolment_id][1],
            who[a.enrolment_id][0],
            a.instrument_id,
            timepoint_rank(a.timepoint),
        )
    )
    for administration in rows:
        participant, group_code = who[administration.enrolment_id]
        yield administration, participant, group_code


def _completed_at(administration: Administration) -> str:
    return administration.submitted_at.isoformat() if administration.submitted_at else ""


def score_export_rows(session: Session, *, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """scores.csv rows: one per submitted administration that no correction has replaced."""
    for administration, participant, group_code in exported_administrations(
        session, group_ids=group_ids
    ):
        total = administration.score_total
        yield (
            participant,
            group_code,
            administration.instrument_id,
            administration.timepoint,
            "" if total is None else (int(total) if float(total).is_integer() else total),
            _completed_at(administration),
            administration.instrument_version,
            administration.score_band or "",
            int(administration.staff_entered),
            int(administration.supersedes_id is not None),
        )


@dataclass(frozen=True)
class ItemAnswer:
    """One answered item of an administration, placed in its instrument's definition."""

    item_id: str
    number: int | None  # position in the instrument; None when the definition no longer has it
    value: int
    loinc: str | None


def answered_items(administration: Administration) -> list[ItemAnswer]:
    """The administration's answers in the instrument's item order; unanswered items and
    anything but a whole number (no instrument has free-text items) are left out."""
    instrument = instruments().get(administration.instrument_id)
    items = instrument.items if instrument else []
    place = {item.id: (number, item.loinc) for number, item in enumerate(items, start=1)}
    answers = []
    for item_id, value in administration.answers.items():
        if type(value) is int:  # not None (unanswered), text or a boolean
            number, loinc = place.get(item_id, (None, None))
            answers.append(ItemAnswer(item_id, number, value, loinc))
    return sorted(answers, key=lambda a: (a.number is None, a.number or 0))


def item_export_rows(session: Session, *, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """item_responses.csv rows: one per answer of each administration scores.csv exports (a
    total entered by staff has no answers, so no rows)."""
    for administration, participant, group_code in exported_administrations(
        session, group_ids=group_ids
    ):
        for answer in answered_items(administration):
            yield (
                participant,
                group_code,
                administration.instrument_id,
                administration.instrument_version,
                administration.timepoint,
                _completed_at(administration),
                answer.item_id,
                answer.number,
                answer.value,
                answer.loinc,
            )
