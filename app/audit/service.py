"""Writing audit events. There is deliberately no function that changes or removes one."""

from typing import Any

from sqlmodel import Session

from app.audit.models import AuditEvent
from app.clinics.models import User


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
    """Add an audit event to the session's transaction (it commits with the work it records)."""
    event = AuditEvent(
        action=action,
        actor_user_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        clinic_id=clinic_id if clinic_id is not None else (actor.clinic_id if actor else None),
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(event)
    return event
