"""One patient's outcomes for staff: scores over time, changes between timepoints, safety
flags and practice."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.clinics.models import User
from app.errors import NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes.definitions import Instrument
from app.outcomes.due import timepoint_rank
from app.outcomes.instruments import ordered_instruments
from app.outcomes.models import Administration, SafetyFlag
from app.outcomes.questionnaires import current_administrations
from app.outcomes.reliable_change import PainChange, assess_change
from app.outcomes.summary import PAIRS, adherence_rules, practice_by_enrolment


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


@dataclass(frozen=True)
class PatientChange:
    """One instrument's change between two timepoints for one patient."""

    instrument: Instrument
    from_: str
    to: str
    pre: float
    post: float
    category: str | None
    pain_change: PainChange | None
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


def patient_summary(session: Session, *, participant_code: str, viewer: User) -> PatientSummary:
    """One patient's outcomes for the medical record (the view is audited)."""
    enrolment, group = get_patient_for_staff(
        session, participant_code=participant_code, viewer=viewer
    )
    series: dict[str, list[Administration]] = defaultdict(list)
    for administration in current_administrations(session, [enrolment.id or 0]):
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
                # The instrument's published threshold, the one the group summary uses.
                assessed = assess_change(instrument, pre, post)
                changes.append(
                    PatientChange(
                        instrument,
                        first,
                        second,
                        pre,
                        post,
                        assessed.category.value if assessed.category else None,
                        assessed.pain_change,
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
    adherence = practice_by_enrolment(
        session, groups=[group], rules=adherence_rules(session, [group])
    )
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
