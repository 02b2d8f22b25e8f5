"""Telling staff about safety flags: when a flag is raised, its group's facilitators and the
clinic's clinicians get a push (through the reminders' deliveries) and, with SMTP set, an
email; a flag still open after the clinic's response time is escalated to every clinician.

Run by the reminder scheduler's pass, which holds a lease, so one worker alerts at a time.
No patient words and no health data leave in a push or an email: only that a safety answer
in a group needs follow-up, and where to look.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.clinics import service as clinics_service
from app.clinics.models import Role, User
from app.groups.models import Enrolment, Group, GroupFacilitator
from app.outcomes.models import SafetyFlag
from app.reminders import push
from app.reminders import service as reminders_service

RAISED, ESCALATED = "raised", "escalated"


@dataclass(frozen=True)
class Alert:
    """One alert to send: who to tell about which flag, and why."""

    flag_id: int
    kind: str  # raised or escalated
    group_code: str
    clinic_id: int
    user_ids: tuple[int, ...]
    emails: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"/outcomes/safety-flags/{self.flag_id}"

    def push_message(self) -> push.Message:
        body = (
            f"A safety answer needs follow-up in {self.group_code}"
            if self.kind == RAISED
            else f"A safety answer in {self.group_code} is past its response time"
        )
        return push.Message(
            title="Tend: safety", body=body, url=self.url, tag=f"safety-{self.flag_id}"
        )

    def email(self) -> tuple[str, str]:
        """Subject and body: where to look, and nothing about the answer."""
        if self.kind == RAISED:
            subject = f"Tend: a safety answer needs follow-up in {self.group_code}"
            why = "A questionnaire answer in your group needs follow-up by a member of staff."
        else:
            subject = f"Tend: a safety flag in {self.group_code} is past its response time"
            why = (
                "A safety flag has not been acknowledged within the clinic's response time, so "
                "every clinician of the clinic is told."
            )
        body = (
            f"{why}\n\nSign in to Tend and open {self.url} (or Outcomes, then Safety) to see it "
            "and record what was done.\n\nThis email holds no clinical details on purpose."
        )
        return subject, body


def _staff(session: Session, *, clinic_id: int, group_id: int | None) -> list[User]:
    clinicians = clinics_service.list_staff(session, clinic_id=clinic_id, role=Role.clinician)
    facilitators: list[User] = []
    if group_id is not None:
        facilitators = list(
            session.exec(
                select(User)
                .join(GroupFacilitator, col(GroupFacilitator.user_id) == User.id)
                .where(GroupFacilitator.group_id == group_id, col(User.is_active))
            ).all()
        )
    unique = {user.id: user for user in [*facilitators, *clinicians]}
    return list(unique.values())


def pending_alerts(session: Session, *, now: datetime) -> list[Alert]:
    """Open flags nobody has been told about yet, and open flags past their response time
    that have not been escalated."""
    rows = session.exec(
        select(SafetyFlag, Group)
        .join(Enrolment, col(Enrolment.id) == SafetyFlag.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(SafetyFlag.acknowledged_at).is_(None))
        .order_by(col(SafetyFlag.id))
    ).all()
    alerts = []
    for flag, group in rows:
        if flag.alerted_at is None:
            alerts.append(_alert(session, flag, group, RAISED))
        elif flag.escalated_at is None and flag.respond_by is not None and flag.respond_by <= now:
            alerts.append(_alert(session, flag, group, ESCALATED))
    return alerts


def _alert(session: Session, flag: SafetyFlag, group: Group, kind: str) -> Alert:
    group_id = group.id if kind == RAISED else None  # escalation: every clinician
    staff = _staff(session, clinic_id=group.clinic_id, group_id=group_id)
    return Alert(
        flag_id=flag.id or 0,
        kind=kind,
        group_code=group.code,
        clinic_id=group.clinic_id,
        user_ids=tuple(user.id or 0 for user in staff),
        emails=tuple(user.login for user in staff if "@" in user.login),
    )


def queue_pushes(session: Session, alerts: list[Alert], *, now: datetime) -> int:
    """A push for each alert to every device its staff subscribed (once per device)."""
    return sum(
        reminders_service.queue_staff_alert(
            session,
            user_ids=alert.user_ids,
            key=f"safety:{alert.flag_id}:{alert.kind}",
            message=alert.push_message(),
            now=now,
        )
        for alert in alerts
    )


def mark_done(session: Session, alert: Alert, *, now: datetime, emailed: bool) -> None:
    """Write down that the alert went out (audited: who was told, not what was answered)."""
    flag = session.get(SafetyFlag, alert.flag_id)
    if flag is None:
        return
    if alert.kind == RAISED:
        flag.alerted_at = now
    else:
        flag.escalated_at = now
    session.add(flag)
    audit.record(
        session,
        action="alert_safety_flag" if alert.kind == RAISED else "escalate_safety_flag",
        actor=None,
        clinic_id=alert.clinic_id,
        object_type="safety_flag",
        object_id=alert.flag_id,
        staff_told=len(alert.user_ids),
        emailed=emailed,
    )
