"""Writing and reading audit events. There is deliberately no function that changes or
removes one."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, or_
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.clinics.models import Role, User
from app.db import add_even_when_reading
from app.errors import Forbidden


def record(
    session: Session,
    *,
    action: str,
    actor: User | None,
    clinic_id: int | None = None,
    object_type: str | None = None,
    object_id: object = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the session's transaction (it commits with the work it records;
    a view, which only reads, has its event stored at once: see ``add_even_when_reading``)."""
    event = AuditEvent(
        action=action,
        actor_user_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        clinic_id=clinic_id if clinic_id is not None else (actor.clinic_id if actor else None),
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    add_even_when_reading(session, event)
    return event


@dataclass(frozen=True)
class AuditFilter:
    """What the audit viewer narrows the trail to; empty fields do not filter."""

    person: str = ""  # the login of whoever acted
    patient: str = ""  # a participant code the event is about (or the patient who acted)
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The filter as the audit trail records it."""
        return {
            "person": self.person or None,
            "patient": self.patient or None,
            "action": self.action or None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_login: str | None


def _user_id(session: Session, *, clinic_id: int, login: str) -> int | None:
    user = session.exec(
        select(User).where(
            User.clinic_id == clinic_id, func.lower(User.login) == login.strip().lower()
        )
    ).first()
    return user.id if user else None


def _filtered(session: Session, *, viewer: User, where: AuditFilter) -> Any:
    if viewer.role != Role.admin:
        raise Forbidden("Only admins can read the audit trail.")
    query = (
        select(AuditEvent, User.login)
        .outerjoin(User, col(User.id) == AuditEvent.actor_user_id)
        .where(AuditEvent.clinic_id == viewer.clinic_id)
    )
    if where.person:
        person_id = _user_id(session, clinic_id=viewer.clinic_id, login=where.person)
        query = query.where(AuditEvent.actor_user_id == (person_id or -1))
    if where.patient:
        code = where.patient.strip()
        patient_id = _user_id(session, clinic_id=viewer.clinic_id, login=code)
        query = query.where(
            or_(
                col(AuditEvent.object_id) == code,
                cast(AuditEvent.detail, String).contains(code),
                col(AuditEvent.actor_user_id) == (patient_id or -1),
            )
        )
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.date_from:
        start = datetime.combine(where.date_from, time.min, tzinfo=UTC)
        query = query.where(col(AuditEvent.at) >= start)
    if where.date_to:
        end = datetime.combine(where.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        query = query.where(col(AuditEvent.at) < end)
    return query


def list_events(
    session: Session, *, viewer: User, where: AuditFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AuditRow], int]:
    """One page of the clinic's audit events, newest first, and how many match in all."""
    query = _filtered(session, viewer=viewer, where=where)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return [AuditRow(event, login) for event, login in rows], int(total)


def iter_events(session: Session, *, viewer: User, where: AuditFilter) -> Iterator[AuditRow]:
    """Every matching event, oldest first, streamed (for the CSV export)."""
    query = _filtered(session, viewer=viewer, where=where).order_by(
        col(AuditEvent.at), col(AuditEvent.id)
    )
    for event, login in session.exec(query.execution_options(yield_per=1000)):
        yield AuditRow(event, login)


def actions(session: Session, *, viewer: User) -> list[str]:
    """The actions recorded in the viewer's clinic, for the filter's choices."""
    query = (
        select(AuditEvent.action)
        .where(AuditEvent.clinic_id == viewer.clinic_id)
        .distinct()
        .order_by(col(AuditEvent.action))
    )
    return list(session.exec(query).all())
