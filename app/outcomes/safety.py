"""Safety flags: raised by a risk answer, listed for the staff who may see them, acknowledged
by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.clinics import service as clinics_service
from app.clinics.models import Role, User
from app.db import utcnow
from app.errors import NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes.definitions import Instrument
from app.outcomes.instruments import get_instrument
from app.outcomes.models import Administration, SafetyFlag
from app.outcomes.scoring import (
    safety_triggered,
)


def raise_safety_flag(
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


def crisis_text_for(session: Session, *, group: Group) -> str:
    """The clinic's support and crisis text."""
    return clinics_service.get_clinic(session, group.clinic_id).crisis_text


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
