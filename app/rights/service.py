"""A patient's rights over their data: everything held about them in one file (for them, or
for staff answering a subject access request), and withdrawal with a real choice between
keeping what they recorded for the service's records and erasing it.

What the clinic must keep is never erased: submitted outcome questionnaires (part of the
clinical record), safety flags and the audit trail.
"""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth import service as auth_service
from app.auth.passwords import verify_password
from app.clinics.models import Clinic, User
from app.consent import service as consent_service
from app.db import utcnow
from app.errors import InvalidInput
from app.groups.models import Enrolment, EnrolmentContact, EnrolmentStatus, Group
from app.i18n import N_
from app.outcomes.models import Administration, AdministrationStatus
from app.practice.models import CheckIn, PracticeLog, Reflection
from app.reminders.models import PushSubscription, ReminderPreference

EXPORT_FORMAT_VERSION = 1
# Said to the patient before they choose, and kept in the file's notes.
KEPT_WHATEVER_YOU_CHOOSE = (
    "completed questionnaires (part of your clinical record)",
    "safety flags raised by your answers",
    "the audit trail of who did what",
)
ERASED_ON_REQUEST = (
    "practice logs",
    "ratings (pain, distress, mood)",
    "reflections and other words you wrote",
    "questionnaire drafts you did not send",
    "the phones and browsers registered for reminders",
)


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {name: _iso(getattr(obj, name)) for name in names}


def _enrolments(session: Session, patient: User) -> list[tuple[Enrolment, Group]]:
    rows = session.exec(
        select(Enrolment, Group)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(Enrolment.user_id == patient.id)
    ).all()
    return [(enrolment, group) for enrolment, group in rows]


def _views(session: Session, patient: User, enrolment_ids: list[int]) -> list[dict[str, Any]]:
    """Who at the clinic looked at the patient's record, from the audit trail."""
    targets = [str(i) for i in enrolment_ids]
    events = session.exec(
        select(AuditEvent, User.display_name)
        .outerjoin(User, col(User.id) == AuditEvent.actor_user_id)
        .where(
            col(AuditEvent.object_type).in_(("enrolment", "user")),
            col(AuditEvent.object_id).in_([*targets, str(patient.id)]),
            col(AuditEvent.actor_user_id) != patient.id,
        )
        .order_by(col(AuditEvent.at))
    ).all()
    return [
        {
            "at": _iso(event.at),
            "what": event.action,
            # Their name as the clinic set it, never their email address.
            "by": display_name or "a member of staff",
            "role": event.actor_role,
        }
        for event, display_name in events
        # Enrolment ids and user ids share the object_id column: match each to its own type.
        if (event.object_type == "enrolment" and event.object_id in targets)
        or (event.object_type == "user" and event.object_id == str(patient.id))
    ]


def export_data(session: Session, *, patient: User) -> dict[str, Any]:
    """Everything Tend holds about ``patient``, as one JSON-ready document (docs/my-data.md)."""
    placements = _enrolments(session, patient)
    enrolment_ids = [e.id for e, _ in placements if e.id is not None]
    clinic = session.get(Clinic, patient.clinic_id)
    contacts = session.exec(
        select(EnrolmentContact).where(col(EnrolmentContact.enrolment_id).in_(enrolment_ids))
    ).all()
    group_codes = {e.id: g.code for e, g in placements}

    def owned(model: Any, order: Any) -> list[Any]:
        return list(
            session.exec(
                select(model).where(col(model.enrolment_id).in_(enrolment_ids)).order_by(order)
            ).all()
        )

    preference = session.exec(
        select(ReminderPreference).where(ReminderPreference.user_id == patient.id)
    ).first()
    devices = session.exec(
        select(PushSubscription).where(PushSubscription.user_id == patient.id)
    ).all()
    return {
        "format": {"name": "tend-my-data", "version": EXPORT_FORMAT_VERSION},
        "exported_at": _iso(utcnow()),
        "account": {
            **_row(patient, "login", "role", "display_name", "is_active", "created_at"),
            "password_changed_at": _iso(patient.password_changed_at),
            "clinic": clinic.name if clinic else None,
            "contact": [_row(c, "name", "email", "phone", "updated_at") for c in contacts],
        },
        "enrolments": [
            {
                "group_code": group.code,
                "group_name": group.name,
                "group_start_date": _iso(group.start_date),
                **_row(
                    enrolment,
                    "participant_code",
                    "status",
                    "enrolled_at",
                    "withdrawn_at",
                    "erased_at",
                ),
            }
            for enrolment, group in placements
        ],
        "consents": [
            {
                "version": document.version,
                "given_at": _iso(record.given_at),
                "method": record.method.value,
                "statements": [
                    {
                        "text": s["text"],
                        "required": s["required"],
                        "agreed": bool(record.answers.get(s["key"])),
                    }
                    for s in document.statements
                ],
            }
            for record, document in consent_service.history(session, patient=patient)
        ],
        "practice_logs": [
            {
                "group_code": group_codes.get(log.enrolment_id),
                **_row(
                    log,
                    "id",
                    "kind",
                    "exercise_id",
                    "started_at",
                    "timezone",
                    "local_date",
                    "listened_seconds",
                    "completed",
                    "received_at",
                ),
            }
            for log in owned(PracticeLog, col(PracticeLog.started_at))
        ],
        "check_ins": [
            _row(
                c,
                "id",
                "practice_log_id",
                "moment",
                "recorded_at",
                "local_date",
                "pain_intensity",
                "pain_distress",
                "mood",
            )
            for c in owned(CheckIn, col(CheckIn.recorded_at))
        ],
        "reflections": [
            _row(
                r,
                "id",
                "kind",
                "week_number",
                "text",
                "share_with_group",
                "share_name",
                "created_at",
                "updated_at",
            )
            for r in owned(Reflection, col(Reflection.created_at))
        ],
        "questionnaires": [
            {
                **_row(
                    a,
                    "instrument_id",
                    "instrument_version",
                    "timepoint",
                    "status",
                    "score_total",
                    "score_band",
                    "started_at",
                    "submitted_at",
                    "staff_entered",
                ),
                "answers": a.answers,
            }
            for a in owned(Administration, col(Administration.started_at))
        ],
        "reminders": {
            "choice": None
            if preference is None
            else _row(
                preference,
                "practice",
                "questionnaire",
                "group_session",
                "time_of_day",
                "days_mask",
                "timezone",
                "paused",
                "updated_at",
            ),
            "devices": [_row(d, "device_label", "created_at", "last_sent_at") for d in devices],
        },
        "views": _views(session, patient, enrolment_ids),
    }


def record_subject_access(session: Session, *, actor: User, patient: User) -> None:
    """Audit that staff produced a patient's data file (a subject access request)."""
    audit.record(
        session,
        action="subject_access_export",
        actor=actor,
        object_type="user",
        object_id=patient.id,
    )


@dataclass(frozen=True)
class Erased:
    """How many rows an erasure removed, by kind (counts only: they go to the audit trail)."""

    practice_logs: int
    check_ins: int
    reflections: int
    questionnaire_drafts: int
    devices: int


def _delete(session: Session, statement: Any) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def erase_recordings(session: Session, *, patient: User, enrolment_ids: list[int]) -> Erased:
    """Delete what the patient recorded; kept: submitted questionnaires, flags, audit trail."""
    in_enrolments = col(CheckIn.enrolment_id).in_(enrolment_ids)
    erased = Erased(
        # Ratings first: some hang off the practice logs deleted next.
        check_ins=_delete(session, delete(CheckIn).where(in_enrolments)),
        practice_logs=_delete(
            session, delete(PracticeLog).where(col(PracticeLog.enrolment_id).in_(enrolment_ids))
        ),
        reflections=_delete(
            session, delete(Reflection).where(col(Reflection.enrolment_id).in_(enrolment_ids))
        ),
        questionnaire_drafts=_delete(
            session,
            delete(Administration).where(
                col(Administration.enrolment_id).in_(enrolment_ids),
                col(Administration.status) == AdministrationStatus.draft,
            ),
        ),
        devices=_delete(
            session, delete(PushSubscription).where(col(PushSubscription.user_id) == patient.id)
        ),
    )
    now = utcnow()
    for enrolment in session.exec(select(Enrolment).where(col(Enrolment.id).in_(enrolment_ids))):
        enrolment.erased_at = now
        session.add(enrolment)
    return erased


def stop_reminders(session: Session, *, patient: User) -> None:
    """No more reminders: the choice and the registered devices go."""
    session.execute(delete(ReminderPreference).where(col(ReminderPreference.user_id) == patient.id))
    session.execute(delete(PushSubscription).where(col(PushSubscription.user_id) == patient.id))


def withdraw(
    session: Session, *, patient: User, erase: bool, actor: User, reason: str = ""
) -> Erased | None:
    """Close the patient's account, end their sessions and stop reminders; with ``erase``,
    delete what they recorded too. All in the caller's one transaction, so a failure part-way
    leaves nothing half-done. Audited either way (counts only)."""
    placements = _enrolments(session, patient)
    enrolment_ids = [e.id for e, _ in placements if e.id is not None]
    now = utcnow()
    for enrolment, _ in placements:
        if enrolment.status == EnrolmentStatus.active:
            enrolment.status = EnrolmentStatus.withdrawn
            enrolment.withdrawn_at = now
            enrolment.status_reason = reason or "Withdrew through Tend"
            session.add(enrolment)
    erased = (
        erase_recordings(session, patient=patient, enrolment_ids=enrolment_ids) if erase else None
    )
    stop_reminders(session, patient=patient)
    auth_service.revoke_invites(session, patient=patient)
    auth_service.end_all_sessions(session, user=patient)
    patient.is_active = False
    session.add(patient)
    audit.record(
        session,
        action="withdrawal_erased" if erase else "withdrawal_kept",
        actor=actor,
        clinic_id=patient.clinic_id,
        object_type="user",
        object_id=patient.id,
        enrolment_ids=enrolment_ids,
        **({"erased": asdict(erased)} if erased else {}),
    )
    return erased


def withdraw_on_behalf(
    session: Session, *, actor: User, enrolment: Enrolment, erase: bool
) -> Erased | None:
    """Staff withdrawing a patient (the withdrawal itself is ``groups.service.withdraw``):
    reminders stop and, if the patient asked, what they recorded is erased (audited)."""
    patient = session.get(User, enrolment.user_id)
    assert patient is not None and enrolment.id is not None
    stop_reminders(session, patient=patient)
    if not erase:
        return None
    erased = erase_recordings(session, patient=patient, enrolment_ids=[enrolment.id])
    audit.record(
        session,
        action="withdrawal_erased",
        actor=actor,
        clinic_id=patient.clinic_id,
        object_type="user",
        object_id=patient.id,
        enrolment_ids=[enrolment.id],
        erased=asdict(erased),
    )
    return erased


def withdraw_self(session: Session, *, patient: User, erase: bool, password: str) -> Erased | None:
    """A patient stopping themselves: their passphrase again, then ``withdraw``."""
    if not verify_password(patient.password_hash, password):
        raise InvalidInput(N_("That is not your passphrase. Please try again."), field="password")
    return withdraw(session, patient=patient, erase=erase, actor=patient)
