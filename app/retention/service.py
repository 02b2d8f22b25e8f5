"""Retention: each clinic keeps a patient's data for a set number of years after their group
ends, then `tend retention --apply` deletes it (or, where the clinic chose, strips the
identifiers and keeps the pseudonymous rows). The same pass cleans what is only ever
short-lived: expired invites, ended sessions and old rate-limit counters.

One transaction per patient, so a failure part-way leaves no patient half-deleted; the
counts (never who) go to the audit trail, one event per clinic.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, delete, or_
from sqlmodel import Session, col, func, select

from app import clock
from app.audit import service as audit
from app.auth.models import AuthSession, Invite
from app.clinics import service as clinics_service
from app.clinics.models import Clinic, RetentionAction, User
from app.db import open_session
from app.errors import InvalidInput
from app.groups.models import Enrolment, EnrolmentContact, Group, GroupSession
from app.outcomes.models import Administration
from app.practice.models import CheckIn, PracticeLog, Reflection
from app.programme.models import Week
from app.reminders import service as reminders_service
from app.reminders.models import PushSubscription, ReminderPreference
from app.security.models import RateLimitBucket

SETTING = "retention_years"
DAILY_LEASE = "retention"
# What a dry run counts for each patient due, by kind.
COUNTED = (
    ("practice_logs", PracticeLog),
    ("check_ins", CheckIn),
    ("reflections", Reflection),
    ("questionnaires", Administration),
)


@dataclass
class ClinicPlan:
    """What retention would do for one clinic today."""

    slug: str
    name: str
    years: int | None
    action: RetentionAction
    kept_from: date | None  # groups that ended before this day are due
    enrolment_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def has_setting(self) -> bool:
        return self.years is not None


@dataclass
class Housekeeping:
    """Short-lived rows past their use, counted or removed."""

    expired_invites: int = 0
    ended_sessions: int = 0
    rate_limit_rows: int = 0


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def group_end_dates(session: Session, *, clinic_id: int) -> dict[int, date]:
    """When each of the clinic's groups ended: its last meeting or its programme's last day,
    whichever is later."""
    groups = session.exec(select(Group).where(Group.clinic_id == clinic_id)).all()
    weeks = dict(
        session.exec(select(Week.programme_id, func.count()).group_by(col(Week.programme_id))).all()
    )
    last_meetings = dict(
        session.exec(
            select(GroupSession.group_id, func.max(GroupSession.starts_at))
            .where(col(GroupSession.group_id).in_([g.id for g in groups]))
            .group_by(col(GroupSession.group_id))
        ).all()
    )
    ends = {}
    for group in groups:
        assert group.id is not None
        end = group.start_date + timedelta(weeks=weeks.get(group.programme_id, 0))
        meeting = last_meetings.get(group.id)
        ends[group.id] = max(end, meeting.date()) if meeting else end
    return ends


def plan_clinic(session: Session, clinic: Clinic) -> ClinicPlan:
    """The clinic's patients whose group ended longer ago than the clinic keeps data."""
    plan = ClinicPlan(
        clinic.slug, clinic.name, clinic.retention_years, clinic.retention_action, None
    )
    if clinic.retention_years is None or clinic.id is None:
        return plan
    plan.kept_from = _years_before(clinics_service.today_at(clinic), clinic.retention_years)
    due_groups = [
        group_id
        for group_id, end in group_end_dates(session, clinic_id=clinic.id).items()
        if end < plan.kept_from
    ]
    query = select(Enrolment.id).where(col(Enrolment.group_id).in_(due_groups))
    if clinic.retention_action == RetentionAction.pseudonymise:
        query = query.where(col(Enrolment.pseudonymised_at).is_(None))
    plan.enrolment_ids = [i for i in session.exec(query).all() if i is not None]
    plan.counts = {"patients": len(plan.enrolment_ids)}
    for name, model in COUNTED:
        plan.counts[name] = session.exec(
            select(func.count())
            .select_from(model)
            .where(col(model.enrolment_id).in_(plan.enrolment_ids))
        ).one()
    return plan


def plan(session: Session) -> list[ClinicPlan]:
    """What retention would do today, per clinic (a dry run)."""
    clinics = session.exec(select(Clinic).order_by(col(Clinic.slug))).all()
    return [plan_clinic(session, clinic) for clinic in clinics]


def refuse_unset(plans: Sequence[ClinicPlan]) -> None:
    """Refuse to apply while any clinic has not chosen its retention period, naming it."""
    unset = [p.slug for p in plans if not p.has_setting]
    if unset:
        raise InvalidInput(
            f"No retention period set for clinic {', '.join(unset)}: set {SETTING} "
            "(years kept after a group ends; 8 is the NHS records code's period) on the "
            "admin's Retention page (/admin/retention) first.",
            field=SETTING,
        )


def _housekeeping(session: Session, *, apply: bool) -> Housekeeping:
    now = clock.now()
    filters = {
        "expired_invites": (Invite, [col(Invite.expires_at) < now]),
        "ended_sessions": (
            AuthSession,
            [or_(col(AuthSession.expires_at) < now, col(AuthSession.revoked_at).is_not(None))],
        ),
        "rate_limit_rows": (
            RateLimitBucket,
            [col(RateLimitBucket.expires_at) < int(now.timestamp())],
        ),
    }
    counts = Housekeeping()
    for name, (model, where) in filters.items():
        if apply:
            result = session.execute(delete(model).where(*where))
            setattr(counts, name, int(result.rowcount or 0))  # type: ignore[attr-defined]
        else:
            setattr(
                counts,
                name,
                session.exec(select(func.count()).select_from(model).where(*where)).one(),
            )
    return counts


def count_housekeeping(session: Session) -> Housekeeping:
    """How many short-lived rows are past their use."""
    return _housekeeping(session, apply=False)


def _delete_patient(session: Session, enrolment: Enrolment) -> None:
    # Everything of theirs hangs off the account by ON DELETE CASCADE; the audit trail has
    # no foreign keys on purpose and stays.
    session.execute(delete(User).where(col(User.id) == enrolment.user_id))


def _pseudonymise_patient(session: Session, enrolment: Enrolment) -> None:
    """Strip what identifies the patient; keep the pseudonymous rows for evaluation."""
    user_id = enrolment.user_id
    session.execute(
        delete(EnrolmentContact).where(col(EnrolmentContact.enrolment_id) == enrolment.id)
    )
    # Free text can name people: words go, numbers stay.
    session.execute(delete(Reflection).where(col(Reflection.enrolment_id) == enrolment.id))
    for model in (PushSubscription, ReminderPreference, AuthSession, Invite):
        session.execute(delete(model).where(col(model.user_id) == user_id))
    user = session.get(User, user_id)
    if user is not None:
        user.display_name = ""
        user.password_hash = None
        user.is_active = False
        session.add(user)
    enrolment.status_reason = ""
    enrolment.pseudonymised_at = clock.now()
    session.add(enrolment)


def apply_clinic(engine: Engine, clinic_plan: ClinicPlan) -> int:
    """Delete or pseudonymise each due patient in a transaction of their own; returns how many."""
    done = 0
    for enrolment_id in clinic_plan.enrolment_ids:
        with open_session(engine, write=True) as session:
            enrolment = session.get(Enrolment, enrolment_id)
            if enrolment is None:  # gone meanwhile (another pass, a withdrawal)
                continue
            if clinic_plan.action == RetentionAction.pseudonymise:
                _pseudonymise_patient(session, enrolment)
            else:
                _delete_patient(session, enrolment)
            session.commit()
            done += 1
    return done


def apply(engine: Engine, *, skip_unset: bool = False) -> tuple[list[ClinicPlan], Housekeeping]:
    """Apply every clinic's retention and clean short-lived rows; audited (counts only).

    Refuses (before touching anything) when a clinic has no setting, unless ``skip_unset``
    (the daily pass, which leaves those clinics alone until an admin chooses).
    """
    with open_session(engine) as session:
        plans = plan(session)
    if not skip_unset:
        refuse_unset(plans)
    for clinic_plan in plans:
        if not clinic_plan.has_setting:
            continue
        done = apply_clinic(engine, clinic_plan)
        with open_session(engine, write=True) as session:
            clinic = clinics_service.get_clinic_by_slug(session, clinic_plan.slug)
            audit.record(
                session,
                action="retention_applied",
                actor=None,
                clinic_id=clinic.id if clinic else None,
                object_type="clinic",
                object_id=clinic_plan.slug,
                years=clinic_plan.years,
                retention_action=clinic_plan.action.value,
                kept_from=clinic_plan.kept_from.isoformat() if clinic_plan.kept_from else None,
                patients=done,
                counts=clinic_plan.counts,
            )
            session.commit()
    with open_session(engine, write=True) as session:
        cleaned = _housekeeping(session, apply=True)
        audit.record(
            session,
            action="retention_housekeeping",
            actor=None,
            expired_invites=cleaned.expired_invites,
            ended_sessions=cleaned.ended_sessions,
            rate_limit_rows=cleaned.rate_limit_rows,
        )
        session.commit()
    return plans, cleaned


def claim_daily_pass(engine: Engine) -> bool:
    """True at most once a day across every worker: the daily pass's own lease, taken only
    by the worker holding the reminders lease (a fresh holder each time, so only expiry
    frees it)."""
    with open_session(engine, write=True) as session:
        claimed = reminders_service.take_lease(
            session,
            holder=f"retention:{uuid.uuid4().hex}",
            now=clock.now(),
            ttl=timedelta(days=1),
            name=DAILY_LEASE,
        )
        session.commit()
    return claimed


def set_retention(session: Session, *, actor: User, years: int, action: RetentionAction) -> Clinic:
    """An admin chooses how long their clinic keeps data after a group ends (audited)."""
    if not 1 <= years <= 100:
        raise InvalidInput("Choose between 1 and 100 years.", field=SETTING)
    clinic = clinics_service.get_clinic(session, actor.clinic_id)
    clinic.retention_years = years
    clinic.retention_action = action
    session.add(clinic)
    audit.record(
        session,
        action="retention_setting_changed",
        actor=actor,
        object_type="clinic",
        object_id=clinic.slug,
        years=years,
        retention_action=action.value,
    )
    return clinic
