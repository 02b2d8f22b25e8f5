"""Groups, who may see them, their enrolled patients and which weeks are open."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from app.clinics.models import Role, User
from app.errors import Forbidden, InvalidInput, NotFound
from app.groups.models import Enrolment, EnrolmentStatus, Group, GroupFacilitator, GroupSession

DAYS_PER_WEEK = 7


def visible_groups(session: Session, *, viewer: User) -> Sequence[Group]:
    """The groups a member of staff may see: their own as facilitator, the clinic's otherwise."""
    query = select(Group).where(Group.clinic_id == viewer.clinic_id).order_by(col(Group.code))
    if viewer.role == Role.facilitator:
        query = query.join(GroupFacilitator, col(GroupFacilitator.group_id) == Group.id).where(
            GroupFacilitator.user_id == viewer.id
        )
    elif viewer.role == Role.patient:
        raise Forbidden("This page is for staff.")
    return session.exec(query).all()


def get_group_for_staff(session: Session, *, code: str, viewer: User) -> Group:
    """The group with this code if ``viewer`` may see it; 404 otherwise, so codes do not leak."""
    group = session.exec(select(Group).where(Group.code == code.upper())).first()
    if group is None or group not in visible_groups(session, viewer=viewer):
        raise NotFound(f"No group {code!r} that you can see.")
    return group


def create_group(
    session: Session,
    *,
    clinic_id: int,
    programme_id: int,
    code: str,
    name: str,
    start_date: date,
    facilitators: Sequence[User] = (),
) -> Group:
    """Create a group; its code is unique across Tend and written in capitals."""
    code = code.strip().upper()
    if session.exec(select(Group).where(Group.code == code)).first() is not None:
        raise InvalidInput(f"A group with code {code!r} already exists.", field="code")
    group = Group(
        clinic_id=clinic_id, programme_id=programme_id, code=code, name=name, start_date=start_date
    )
    session.add(group)
    session.flush()
    assert group.id is not None
    for facilitator in facilitators:
        assert facilitator.id is not None
        session.add(GroupFacilitator(group_id=group.id, user_id=facilitator.id))
    return group


def add_session(
    session: Session, *, group: Group, number: int, starts_at: datetime, place: str = ""
) -> GroupSession:
    """Schedule the group's meeting for programme week ``number``."""
    assert group.id is not None
    meeting = GroupSession(group_id=group.id, number=number, starts_at=starts_at, place=place)
    session.add(meeting)
    return meeting


def enrol_patient(
    session: Session,
    *,
    group: Group,
    participant_code: str,
    display_name: str = "",
    password_hash: str | None = None,
) -> Enrolment:
    """Create the patient's account and enrol them; they sign in with the participant code."""
    code = participant_code.strip().upper()
    taken = session.exec(select(User).where(User.login == code)).first()
    if taken is not None:
        raise InvalidInput(
            f"Participant code {code!r} is already in use.", field="participant_code"
        )
    patient = User(
        clinic_id=group.clinic_id,
        login=code,
        role=Role.patient,
        display_name=display_name,
        password_hash=password_hash,
    )
    session.add(patient)
    session.flush()
    assert patient.id is not None and group.id is not None
    enrolment = Enrolment(group_id=group.id, user_id=patient.id, participant_code=code)
    session.add(enrolment)
    session.flush()
    return enrolment


def enrolment_of(session: Session, *, patient: User) -> Enrolment:
    """The patient's current enrolment; a patient with none is refused."""
    enrolment = session.exec(
        select(Enrolment).where(
            Enrolment.user_id == patient.id, Enrolment.status == EnrolmentStatus.active
        )
    ).first()
    if enrolment is None:
        raise Forbidden("You are not in an active group. Please contact your clinic.")
    return enrolment


def get_group(session: Session, group_id: int) -> Group:
    """The group with this id."""
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("No such group.")
    return group


def enrolments(session: Session, *, group: Group) -> Sequence[Enrolment]:
    """The group's enrolments by participant code, withdrawn ones included."""
    return session.exec(
        select(Enrolment)
        .where(Enrolment.group_id == group.id)
        .order_by(col(Enrolment.participant_code))
    ).all()


def programme_week_on(group: Group, day: date) -> int:
    """The programme week the group is in on ``day``: 0 before it starts, then 1, 2, ..."""
    if day < group.start_date:
        return 0
    return (day - group.start_date).days // DAYS_PER_WEEK + 1


def week_start(group: Group, number: int) -> date:
    """The first day of programme week ``number`` for this group."""

    return group.start_date + timedelta(days=DAYS_PER_WEEK * (number - 1))


def is_week_unlocked(group: Group, number: int, *, today: date) -> bool:
    """A week opens on its first day; earlier weeks stay open."""
    return number <= programme_week_on(group, today)


def patient_user_ids(session: Session, *, enrolment_ids: Sequence[int]) -> dict[int, int]:
    """The patient account behind each enrolment: {enrolment_id: user_id}."""
    if not enrolment_ids:
        return {}
    rows = session.exec(
        select(Enrolment.id, Enrolment.user_id).where(col(Enrolment.id).in_(enrolment_ids))
    ).all()
    return {enrolment_id: user_id for enrolment_id, user_id in rows if enrolment_id is not None}


def meetings_for_patients(
    session: Session, *, user_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, GroupSession]]:
    """(patient user id, meeting) for each meeting of their active group in [start, end)."""
    if not user_ids:
        return []
    rows = session.exec(
        select(Enrolment.user_id, GroupSession)
        .join(GroupSession, col(GroupSession.group_id) == Enrolment.group_id)
        .where(
            col(Enrolment.user_id).in_(user_ids),
            Enrolment.status == EnrolmentStatus.active,
            col(GroupSession.cancelled).is_(False),
            col(GroupSession.starts_at) >= start,
            col(GroupSession.starts_at) < end,
        )
        .order_by(col(GroupSession.starts_at))
    ).all()
    return [(user_id, meeting) for user_id, meeting in rows]
