"""Groups, who may see them, their enrolled patients and which weeks are open."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, func, select

from app import clock
from app.audit import service as audit
from app.auth import service as auth_service
from app.clinics.models import Clinic, Role, User
from app.config import Settings
from app.db import utcnow
from app.errors import Forbidden, InvalidInput, NotFound
from app.groups.models import (
    Attendance,
    AttendanceStatus,
    Enrolment,
    EnrolmentContact,
    EnrolmentStatus,
    Group,
    GroupFacilitator,
    GroupSession,
    WeekUnlock,
)
from app.i18n import N_

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
    found = find_placement(session, patient=patient)
    if found is None:
        raise Forbidden(NOT_IN_A_GROUP)
    return found[0]


NOT_IN_A_GROUP = N_("You are not in an active group. Please contact your clinic.")


# Built once: composing a statement costs more than running it on every patient request.
_PLACEMENT = (
    select(Enrolment, Group, Clinic)
    .join(Group, col(Group.id) == Enrolment.group_id)
    .join(Clinic, col(Clinic.id) == Group.clinic_id)
    .where(Enrolment.user_id == bindparam("user_id"), Enrolment.status == EnrolmentStatus.active)
)


def find_placement(session: Session, *, patient: User) -> tuple[Enrolment, Group, Clinic] | None:
    """The patient's current enrolment with its group and clinic (one query), if any."""
    return session.exec(_PLACEMENT, params={"user_id": patient.id}).first()


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


class Participant(NamedTuple):
    """An enrolment as summaries list it."""

    enrolment_id: int
    group_id: int
    participant_code: str


def participants(session: Session, *, group_ids: Sequence[int]) -> list[Participant]:
    """Everyone enrolled in these groups (withdrawn too), by participant code, in one query."""
    rows = session.exec(
        select(Enrolment.id, Enrolment.group_id, Enrolment.participant_code)
        .where(col(Enrolment.group_id).in_(group_ids))
        .order_by(col(Enrolment.participant_code))
    ).all()
    return [Participant(enrolment_id or 0, group_id, code) for enrolment_id, group_id, code in rows]


def programme_week_on(group: Group, day: date) -> int:
    """The programme week the group is in on ``day``: 0 before it starts, then 1, 2, ..."""
    if day < group.start_date:
        return 0
    return (day - group.start_date).days // DAYS_PER_WEEK + 1


def weeks_in_progress(session: Session) -> list[tuple[int, int]]:
    """(programme id, week number) of every group that has started, each in its clinic's
    calendar today. A group past its programme's last week names a week with no content."""
    rows = session.exec(
        select(Group, Clinic.timezone).join(Clinic, col(Clinic.id) == Group.clinic_id)
    ).all()
    found = {
        (group.programme_id, programme_week_on(group, clock.today(zone))) for group, zone in rows
    }
    return sorted((programme_id, week) for programme_id, week in found if week >= 1)


def week_start(group: Group, number: int) -> date:
    """The first day of programme week ``number`` for this group."""

    return group.start_date + timedelta(days=DAYS_PER_WEEK * (number - 1))


def open_weeks(
    group: Group, numbers: Iterable[int], *, today: date, overrides: Mapping[int, bool]
) -> dict[int, bool]:
    """Which of these weeks are open: a week opens on its first day (earlier weeks stay open)
    unless a facilitator opened or closed it by hand (``overrides``, from week_overrides)."""
    current = programme_week_on(group, today)
    return {number: overrides.get(number, number <= current) for number in numbers}


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


def week_overrides(session: Session, *, group: Group) -> dict[int, bool]:
    """The group's manual week choices: week number -> open (True) or closed (False)."""
    rows = session.exec(select(WeekUnlock).where(WeekUnlock.group_id == group.id)).all()
    return {row.week_number: row.unlocked for row in rows}


def set_week_unlock(
    session: Session, *, actor: User, group: Group, number: int, state: str, total_weeks: int
) -> None:
    """Open or close a week by hand (``open``/``closed``), or let its date decide (``auto``)."""
    if not 1 <= number <= total_weeks:
        raise InvalidInput(f"Choose a week from 1 to {total_weeks}.", field="week")
    if state not in ("auto", "open", "closed"):
        raise InvalidInput("Choose by date, open or closed.", field="state")
    session.exec(
        delete(WeekUnlock).where(
            col(WeekUnlock.group_id) == group.id, col(WeekUnlock.week_number) == number
        )
    )
    if state != "auto":
        assert group.id is not None
        session.add(
            WeekUnlock(
                group_id=group.id,
                week_number=number,
                unlocked=state == "open",
                set_by_id=actor.id,
            )
        )
    audit.record(
        session,
        action="group_week_unlock_set",
        actor=actor,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
        week=number,
        state=state,
    )


def _audit_group(
    session: Session, actor: User, group: Group, action: str, **detail: object
) -> None:
    audit.record(
        session,
        action=action,
        actor=actor,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
        **detail,
    )


def start_group(
    session: Session,
    *,
    actor: User,
    programme_id: int,
    total_weeks: int,
    code: str,
    name: str,
    start_date: date,
    first_session_at: datetime,
    place: str,
    facilitators: Sequence[User] = (),
) -> Group:
    """Create a group with a weekly meeting for each programme week.

    A facilitator who creates a group runs it; clinicians and admins name its facilitators.
    """
    if actor.role == Role.patient:
        raise Forbidden("This is for clinic staff.")
    for facilitator in facilitators:
        if facilitator.role != Role.facilitator or facilitator.clinic_id != actor.clinic_id:
            raise InvalidInput("Choose facilitators from your clinic.", field="facilitators")
    runners = {f.id: f for f in facilitators}
    if actor.role == Role.facilitator:
        runners[actor.id] = actor
    code = code.strip().upper()
    if not code or len(code) > 32 or not all(c.isalnum() or c == "-" for c in code):
        raise InvalidInput("Use up to 32 letters, digits and hyphens.", field="code")
    if not name.strip():
        raise InvalidInput("Give the group a name.", field="name")
    if first_session_at.date() < start_date:
        raise InvalidInput(
            "The first session cannot be before the start date.", field="first_session"
        )
    group = create_group(
        session,
        clinic_id=actor.clinic_id,
        programme_id=programme_id,
        code=code,
        name=name.strip(),
        start_date=start_date,
        facilitators=list(runners.values()),
    )
    for number in range(1, total_weeks + 1):
        add_session(
            session,
            group=group,
            number=number,
            starts_at=first_session_at + timedelta(weeks=number - 1),
            place=place.strip(),
        )
    session.flush()
    _audit_group(
        session,
        actor,
        group,
        "group_created",
        start_date=start_date.isoformat(),
        sessions=total_weeks,
        programme_id=programme_id,
    )
    return group


def group_sessions(session: Session, *, group: Group) -> Sequence[GroupSession]:
    """The group's meetings in programme order."""
    return session.exec(
        select(GroupSession)
        .where(GroupSession.group_id == group.id)
        .order_by(col(GroupSession.number))
    ).all()


def get_group_session(session: Session, *, group: Group, number: int) -> GroupSession:
    """The group's meeting for week ``number``, or 404."""
    meeting = session.exec(
        select(GroupSession).where(GroupSession.group_id == group.id, GroupSession.number == number)
    ).first()
    if meeting is None:
        raise NotFound(f"No session {number} in this group.")
    return meeting


def change_group_session(
    session: Session,
    *,
    actor: User,
    group: Group,
    meeting: GroupSession,
    starts_at: datetime,
    place: str,
    cancelled: bool,
) -> GroupSession:
    """Move a meeting (new time or place), cancel it, or restore a cancelled one."""
    before = {
        "starts_at": meeting.starts_at.isoformat(),
        "place": meeting.place,
        "cancelled": meeting.cancelled,
    }
    meeting.starts_at = starts_at
    meeting.place = place.strip()
    meeting.cancelled = cancelled
    session.add(meeting)
    after = {"starts_at": starts_at.isoformat(), "place": meeting.place, "cancelled": cancelled}
    _audit_group(
        session,
        actor,
        group,
        "group_session_changed",
        session_number=meeting.number,
        before=before,
        after=after,
    )
    return meeting


def next_session(
    session: Session, *, group: Group, now: datetime | None = None
) -> GroupSession | None:
    """The group's next meeting that is not cancelled (the last one once all have passed)."""
    meetings = [m for m in group_sessions(session, group=group) if not m.cancelled]
    now = now or utcnow()
    # A session still counts as "next" for three hours after it starts: prep is read in the room.
    upcoming = [m for m in meetings if m.starts_at + timedelta(hours=3) >= now]
    if upcoming:
        return upcoming[0]
    return meetings[-1] if meetings else None


def enrol(
    session: Session,
    *,
    actor: User,
    group: Group,
    participant_code: str,
    name: str = "",
    email: str = "",
    phone: str = "",
) -> Enrolment:
    """Enrol a patient by participant code; a name and contact, if given, are kept apart."""
    code = participant_code.strip().upper()
    if not code or len(code) > 32 or not all(c.isalnum() or c == "-" for c in code):
        raise InvalidInput("Use up to 32 letters, digits and hyphens.", field="participant_code")
    if email and "@" not in email:
        raise InvalidInput("That does not look like an email address.", field="email")
    enrolment = enrol_patient(session, group=group, participant_code=code)
    if name.strip() or email.strip() or phone.strip():
        set_contact(session, enrolment=enrolment, name=name, email=email, phone=phone)
    _audit_group(
        session,
        actor,
        group,
        "enrolment_created",
        enrolment_id=enrolment.id,
    )
    return enrolment


def set_contact(
    session: Session, *, enrolment: Enrolment, name: str, email: str, phone: str
) -> EnrolmentContact:
    """Store (or replace) the patient's name and contact details."""
    assert enrolment.id is not None
    contact = session.get(EnrolmentContact, enrolment.id) or EnrolmentContact(
        enrolment_id=enrolment.id
    )
    contact.name = name.strip()[:200]
    contact.email = email.strip()[:254]
    contact.phone = phone.strip()[:40]
    contact.updated_at = utcnow()
    session.add(contact)
    return contact


def contacts(session: Session, *, enrolment_ids: Sequence[int]) -> dict[int, EnrolmentContact]:
    """Names and contact details by enrolment id (only for staff pages; never exported)."""
    if not enrolment_ids:
        return {}
    rows = session.exec(
        select(EnrolmentContact).where(col(EnrolmentContact.enrolment_id).in_(enrolment_ids))
    ).all()
    return {row.enrolment_id: row for row in rows}


def get_enrolment_in_group(session: Session, *, group: Group, participant_code: str) -> Enrolment:
    """The group's enrolment with this participant code, or 404."""
    enrolment = session.exec(
        select(Enrolment).where(
            Enrolment.group_id == group.id,
            Enrolment.participant_code == participant_code.strip().upper(),
        )
    ).first()
    if enrolment is None:
        # The code is not echoed: a 404 page must not carry another group's identifiers.
        raise NotFound("No participant with that code in this group.")
    return enrolment


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why, in a few words.", field="reason")
    return reason[:500]


def withdraw(
    session: Session, *, actor: User, group: Group, enrolment: Enrolment, reason: str
) -> None:
    """Withdraw a patient from the group (with a reason); their open invites stop working and
    they are signed out on every device."""
    reason = _reason(reason)
    if enrolment.status == EnrolmentStatus.withdrawn:
        raise InvalidInput("This patient has already been withdrawn.", field="reason")
    enrolment.status = EnrolmentStatus.withdrawn
    enrolment.withdrawn_at = utcnow()
    enrolment.status_reason = reason
    session.add(enrolment)
    patient = session.get(User, enrolment.user_id)
    ended = 0
    if patient is not None:
        auth_service.revoke_invites(session, patient=patient)
        ended = auth_service.end_all_sessions(session, user=patient)
    _audit_group(
        session,
        actor,
        group,
        "enrolment_withdrawn",
        enrolment_id=enrolment.id,
        sessions_ended=ended,
    )


def move_enrolment(
    session: Session,
    *,
    actor: User,
    group: Group,
    enrolment: Enrolment,
    to_code: str,
    reason: str,
) -> Group:
    """Move a patient to another group the actor runs; their data moves with them."""
    reason = _reason(reason)
    try:
        target = get_group_for_staff(session, code=to_code, viewer=actor)
    except NotFound as error:
        raise InvalidInput("Choose one of your groups.", field="to_group") from error
    if target.id == group.id:
        raise InvalidInput("The patient is already in this group.", field="to_group")
    assert target.id is not None
    enrolment.group_id = target.id
    enrolment.status_reason = reason
    session.add(enrolment)
    _audit_group(
        session, actor, group, "enrolment_moved", enrolment_id=enrolment.id, to_group=target.code
    )
    return target


def issue_invites(
    session: Session,
    *,
    actor: User,
    group: Group,
    enrolments: Sequence[Enrolment],
    settings: Settings,
) -> list[tuple[Enrolment, str]]:
    """New single-use codes for active patients: their older open codes stop working and they
    are signed out on every device (a new code is for a new or lost phone)."""
    issued = []
    ended = 0
    for enrolment in enrolments:
        if enrolment.status != EnrolmentStatus.active or enrolment.group_id != group.id:
            continue
        patient = session.get(User, enrolment.user_id)
        assert patient is not None
        code = auth_service.issue_invite(
            session, patient=patient, issued_by=actor, settings=settings
        )
        ended += auth_service.end_all_sessions(session, user=patient)
        issued.append((enrolment, code))
    _audit_group(
        session,
        actor,
        group,
        "invites_issued",
        enrolment_ids=[enrolment.id for enrolment, _ in issued],
        sessions_ended=ended,
    )
    return issued


def sign_out_everywhere(
    session: Session, *, actor: User, group: Group, enrolment: Enrolment
) -> int:
    """End every session of a patient (a lost or handed-back phone); returns how many."""
    patient = session.get(User, enrolment.user_id)
    assert patient is not None
    ended = auth_service.end_all_sessions(session, user=patient)
    _audit_group(
        session,
        actor,
        group,
        "patient_signed_out_everywhere",
        enrolment_id=enrolment.id,
        sessions_ended=ended,
    )
    return ended


def revoke_invite(session: Session, *, actor: User, group: Group, enrolment: Enrolment) -> int:
    """Revoke a patient's open invite codes; returns how many were open."""
    patient = session.get(User, enrolment.user_id)
    assert patient is not None
    revoked = auth_service.revoke_invites(session, patient=patient)
    _audit_group(session, actor, group, "invite_revoked", enrolment_id=enrolment.id)
    return revoked


def invite_states(session: Session, *, enrolments: Sequence[Enrolment]) -> dict[int, str]:
    """Each enrolment's invite state: used, open, expired, revoked or none."""
    states = auth_service.invite_states(session, user_ids=[e.user_id for e in enrolments])
    return {e.id or 0: states.get(e.user_id, "none") for e in enrolments}


def register(session: Session, *, meeting: GroupSession) -> dict[int, AttendanceStatus]:
    """Who came to a meeting: enrolment id -> present, absent or apologies."""
    rows = session.exec(select(Attendance).where(Attendance.group_session_id == meeting.id)).all()
    return {row.enrolment_id: row.status for row in rows}


def save_register(
    session: Session,
    *,
    actor: User,
    group: Group,
    meeting: GroupSession,
    statuses: Mapping[int, str],
) -> int:
    """Record (or update) attendance for the meeting; returns how many rows were saved."""
    members = {e.id: e for e in enrolments(session, group=group)}
    parsed: dict[int, AttendanceStatus] = {}
    for enrolment_id, value in statuses.items():
        if enrolment_id not in members:
            raise InvalidInput(
                "That patient is not in this group.", field=f"attendance-{enrolment_id}"
            )
        try:
            parsed[enrolment_id] = AttendanceStatus(value)
        except ValueError as error:
            raise InvalidInput(
                "Choose present, absent or apologies.", field=f"attendance-{enrolment_id}"
            ) from error
    existing = {
        row.enrolment_id: row
        for row in session.exec(
            select(Attendance).where(Attendance.group_session_id == meeting.id)
        ).all()
    }
    now = utcnow()
    for enrolment_id, status in parsed.items():
        row = existing.get(enrolment_id) or Attendance(
            group_session_id=meeting.id or 0, enrolment_id=enrolment_id, status=status
        )
        row.status = status
        row.recorded_at = now
        session.add(row)
    _audit_group(
        session, actor, group, "register_saved", session_number=meeting.number, rows=len(parsed)
    )
    return len(parsed)


def attendance_of(session: Session, *, enrolment: Enrolment) -> dict[int, AttendanceStatus]:
    """One patient's attendance: session number -> status."""
    rows = session.exec(
        select(GroupSession.number, Attendance.status)
        .join(Attendance, col(Attendance.group_session_id) == GroupSession.id)
        .where(Attendance.enrolment_id == enrolment.id)
    ).all()
    return {number: AttendanceStatus(status) for number, status in rows}


def erased_count(session: Session, *, group_ids: Sequence[int]) -> int:
    """How many patients of these groups had what they recorded erased at their request."""
    if not group_ids:
        return 0
    return session.exec(
        select(func.count())
        .select_from(Enrolment)
        .where(col(Enrolment.group_id).in_(group_ids), col(Enrolment.erased_at).is_not(None))
    ).one()
