"""Safety flags: a risk answer is recorded first, whatever else happens to the form; one open
flag per enrolment shows the latest answer in words with its history; staff see it (overdue
after the clinic's response time) and acknowledge it saying what they did.

The patient's crisis text says what will happen and when, from the clinic's own setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app import clock
from app.audit import service as audit
from app.clinics import service as clinics_service
from app.clinics.models import Clinic, Role, User
from app.errors import InvalidInput, NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes.definitions import Instrument
from app.outcomes.instruments import get_instrument, instruments
from app.outcomes.models import SafetyFlag

# How each answer reached the flag, in words for staff.
HOW = {
    "draft": "saved in a draft",
    "sent": "sent",
    "refused": "on a form that was refused",
    "paper": "entered from a paper form",
    "correction": "corrected by staff",
}
ACTIONS = {
    "contacted_patient": "Contacted the patient",
    "passed_to_gp": "Passed to their GP",
    "crisis_team": "Referred to the crisis team",
    "other": "Other (see note)",
}
NOTE_MAX = 2000
TIMEPOINT_MAX = 16
WORKING_WEEKDAYS = range(5)  # Monday to Friday; bank holidays are not known here


# ------------------------------------------------------------------- the risk answer, first


def valid_risk_answers(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int]:
    """The answers to safety items that are well formed (whatever the rest of the form says)."""
    return {
        rule.item: value
        for rule in instrument.safety_items
        if type(value := answers.get(rule.item)) is int
        and value in instrument.allowed_values(rule.item)
    }


def _triggered(instrument: Instrument, risk_answers: Mapping[str, int]) -> list[str]:
    return [
        rule.item
        for rule in instrument.safety_items
        if rule.item in risk_answers and risk_answers[rule.item] > rule.above
    ]


def open_flag(session: Session, *, enrolment_id: int) -> SafetyFlag | None:
    """The enrolment's open flag (there is at most one)."""
    return session.exec(
        select(SafetyFlag).where(
            SafetyFlag.enrolment_id == enrolment_id, col(SafetyFlag.acknowledged_at).is_(None)
        )
    ).first()


def working_days_after(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """``days`` working days (Monday to Friday) after ``start``, at the same local time."""
    local = start.astimezone(zone)
    remaining = max(days, 0)
    while remaining:
        local += timedelta(days=1)
        if local.weekday() in WORKING_WEEKDAYS:
            remaining -= 1
    return local.astimezone(start.tzinfo)


def _clinic_of(session: Session, group: Group) -> Clinic:
    return clinics_service.get_clinic(session, group.clinic_id)


def record_risk_answers(
    session: Session,
    *,
    enrolment: Enrolment,
    group: Group,
    instrument: Instrument,
    timepoint: str,
    answers: Mapping[str, Any],
    how: str,
    administration_id: int | None = None,
    at: datetime | None = None,
) -> SafetyFlag | None:
    """Record the safety-item answers of a form before anything else looks at it. An answer
    above its threshold raises the enrolment's flag, or updates the open one; any later
    answer to the flagged item (0 too) is written on the open flag, so it shows the latest.
    Returns the flag when this form's answers call for the safety response now."""
    risk_answers = valid_risk_answers(instrument, answers)
    if not risk_answers:
        return None
    triggered = _triggered(instrument, risk_answers)
    flag = open_flag(session, enrolment_id=enrolment.id or 0)
    at = at or clock.now()
    if flag is None and not triggered:
        return None
    if flag is None:
        clinic = _clinic_of(session, group)
        flag = SafetyFlag(
            enrolment_id=enrolment.id or 0,
            instrument_id=instrument.id,
            item_id=triggered[0],
            answer=risk_answers[triggered[0]],
            raised_at=at,
            respond_by=working_days_after(
                at, clinic.safety_response_working_days, ZoneInfo(clinic.timezone)
            ),
        )
    item_id = triggered[0] if triggered else flag.item_id
    if item_id not in risk_answers or (not triggered and flag.instrument_id != instrument.id):
        return None  # this form does not answer the flagged question
    flag.instrument_id, flag.item_id, flag.answer = instrument.id, item_id, risk_answers[item_id]
    flag.timepoint = timepoint[:TIMEPOINT_MAX]
    flag.administration_id = administration_id or flag.administration_id
    entry = {
        "at": at.isoformat(),
        "how": how,
        "answer": flag.answer,
        "instrument": instrument.id,
        "item": item_id,
        "timepoint": flag.timepoint,
    }
    last = flag.answer_history[-1] if flag.answer_history else None
    if last is None or {k: v for k, v in last.items() if k != "at"} != {
        k: v for k, v in entry.items() if k != "at"
    }:
        flag.answer_history = [*flag.answer_history, entry]  # a new list: the column changes
    raised = flag.id is None
    session.add(flag)
    session.flush()
    if raised:
        audit.record(
            session,
            action="raise_safety_flag",
            actor=None,
            clinic_id=group.clinic_id,
            object_type="safety_flag",
            object_id=flag.id,
        )
    return flag if triggered else None


def mark_refused(session: Session, flag: SafetyFlag | None) -> None:
    """Say on the flag's latest answer that its form was refused (the answer still counts)."""
    if flag is not None and flag.answer_history:
        flag.answer_history = [
            *flag.answer_history[:-1],
            {**flag.answer_history[-1], "how": "refused"},
        ]
        session.add(flag)
        session.flush()


def attach_administration(
    session: Session, flag: SafetyFlag | None, administration_id: int
) -> None:
    """Point the flag at the stored form its latest answer came from."""
    if flag is not None:
        flag.administration_id = administration_id
        session.add(flag)
        session.flush()


def _within(clinic: Clinic) -> str:
    days = clinic.safety_response_working_days
    return "1 working day" if days == 1 else f"{days} working days"


def response_promise(clinic: Clinic) -> str:
    """What will happen and when, from the clinic's response time (never more than it keeps)."""
    return (
        f"Your answer has been passed to your care team. Someone from the team will contact you "
        f"within {_within(clinic)} (Monday to Friday). If you need help before then, use the "
        "numbers above."
    )


def pending_promise(session: Session, *, group: Group) -> str:
    """The same promise before the answer has left the phone (shown the moment it is chosen)."""
    return (
        f"When you send this questionnaire, your care team is told, and someone from the team "
        f"will contact you within {_within(_clinic_of(session, group))} (Monday to Friday). "
        "With no signal, it is sent as soon as your phone is back online. If you need help "
        "before then, use the numbers above."
    )


def crisis_text_for(session: Session, *, group: Group) -> str:
    """The clinic's support and crisis text, then what will happen and when."""
    clinic = _clinic_of(session, group)
    return f"{clinic.crisis_text}\n\n{response_promise(clinic)}"


def help_text(session: Session, *, clinic_id: int) -> tuple[str, str]:
    """The clinic's urgent-support text and its promise of what happens to a risk answer."""
    clinic = clinics_service.get_clinic(session, clinic_id)
    return clinic.crisis_text, response_promise(clinic)


# ------------------------------------------------------------------------- staff: the flags


def answer_words(instrument_id: str, item_id: str, value: int) -> str:
    """An answer as the patient saw it ("Several days"), or the number when it has no label."""
    instrument = instruments().get(instrument_id)
    if instrument is None or item_id not in instrument.item_ids:
        return str(value)
    item = instrument.item(item_id)
    options = item.options or instrument.options or []
    return next((o.label for o in options if o.value == value), str(value))


def question_words(instrument_id: str, item_id: str) -> str:
    """The question a flag is about, in the instrument's words."""
    instrument = instruments().get(instrument_id)
    if instrument is None or item_id not in instrument.item_ids:
        return item_id
    number = instrument.item_ids.index(item_id) + 1
    return f"question {number}: {instrument.item(item_id).text or item_id}"


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    how: str
    answer: str
    timepoint: str | None


@dataclass(frozen=True)
class FlagView:
    """A safety flag with who it concerns, its latest answer in words and its history."""

    flag: SafetyFlag
    participant_code: str
    group_code: str
    clinic_id: int
    instrument: str

    @property
    def answer_words(self) -> str:
        return answer_words(self.flag.instrument_id, self.flag.item_id, self.flag.answer)

    @property
    def question(self) -> str:
        return question_words(self.flag.instrument_id, self.flag.item_id)

    @property
    def overdue(self) -> bool:
        respond_by = self.flag.respond_by
        return (
            self.flag.acknowledged_at is None
            and respond_by is not None
            and clock.now() > respond_by
        )

    @property
    def history(self) -> list[HistoryEntry]:
        return [
            HistoryEntry(
                at=datetime.fromisoformat(entry["at"]),
                how=HOW.get(entry.get("how", ""), entry.get("how", "")),
                answer=answer_words(entry["instrument"], entry["item"], int(entry["answer"])),
                timepoint=entry.get("timepoint"),
            )
            for entry in self.flag.answer_history
        ]

    @property
    def action_words(self) -> str | None:
        action = self.flag.acknowledged_action
        return ACTIONS.get(action, action) if action else None


def _views(
    session: Session, *, group_ids: Sequence[int], open_only: bool, flag_id: int | None = None
) -> list[FlagView]:
    if not group_ids:
        return []
    query = (
        select(SafetyFlag, Enrolment.participant_code, Group.code, Group.clinic_id)
        .join(Enrolment, col(Enrolment.id) == SafetyFlag.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(SafetyFlag.raised_at), col(SafetyFlag.id))
    )
    if open_only:
        query = query.where(col(SafetyFlag.acknowledged_at).is_(None))
    if flag_id is not None:
        query = query.where(SafetyFlag.id == flag_id)
    return [
        FlagView(flag, code, group_code, clinic_id, get_instrument(flag.instrument_id).short_name)
        for flag, code, group_code, clinic_id in session.exec(query).all()
    ]


def _visible_group_ids(session: Session, viewer: User) -> list[int]:
    if viewer.role == Role.patient:
        return []
    return [g.id or 0 for g in groups_service.visible_groups(session, viewer=viewer)]


def open_safety_flags(session: Session, *, viewer: User) -> list[FlagView]:
    """Unacknowledged flags in the groups the viewer may see, oldest first."""
    return _views(session, group_ids=_visible_group_ids(session, viewer), open_only=True)


def open_safety_flags_in(session: Session, *, group_ids: Sequence[int]) -> list[FlagView]:
    """Unacknowledged flags in these groups, oldest first (callers check who may see them)."""
    return _views(session, group_ids=group_ids, open_only=True)


def overdue_safety_flags(session: Session, *, viewer: User) -> list[FlagView]:
    """Open flags the viewer may see that have waited past the clinic's response time."""
    return [view for view in open_safety_flags(session, viewer=viewer) if view.overdue]


def get_safety_flag(session: Session, *, flag_id: int, viewer: User) -> FlagView:
    """One flag (open or acknowledged) in a group the viewer may see; the view is audited."""
    found = _views(
        session,
        group_ids=_visible_group_ids(session, viewer),
        open_only=False,
        flag_id=flag_id,
    )
    if not found:
        raise NotFound("No safety flag with that number that you can see.")
    view = found[0]
    audit.record(
        session,
        action="view_safety_flag",
        actor=viewer,
        clinic_id=view.clinic_id,
        object_type="safety_flag",
        object_id=flag_id,
        participant_code=view.participant_code,
    )
    return view


def acknowledge_safety_flag(
    session: Session, *, flag_id: int, viewer: User, action: str, note: str = ""
) -> SafetyFlag:
    """Close a flag as the signed-in staff member, saying what was done (audited)."""
    note = note.strip()
    if action not in ACTIONS:
        raise InvalidInput("Choose what was done.", field="action")
    if action == "other" and not note:
        raise InvalidInput("Say in a note what was done.", field="note")
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX} characters.", field="note")
    visible = {view.flag.id: view for view in open_safety_flags(session, viewer=viewer)}
    view = visible.get(flag_id)
    if view is None:
        raise NotFound("No open safety flag with that number that you can see.")
    flag = view.flag
    flag.acknowledged_at = clock.now()
    flag.acknowledged_by_user_id = viewer.id
    flag.acknowledged_by_name = viewer.display_name or viewer.login
    flag.acknowledged_action = action
    flag.acknowledged_note = note or None
    session.add(flag)
    audit.record(
        session,
        action="acknowledge_safety_flag",
        actor=viewer,
        clinic_id=view.clinic_id,
        object_type="safety_flag",
        object_id=flag.id,
        participant_code=view.participant_code,
        what_was_done=action,
        overdue=view.overdue,
    )
    return flag
