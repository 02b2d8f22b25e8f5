"""Reminders: each patient's choice, their devices, and the scheduler's steps (plan what is due,
claim it, record what the push service said). Never commits: the caller owns the transaction.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, delete, select

from app.clinics import service as clinics_service
from app.clinics.models import User
from app.config import Settings
from app.db import utcnow
from app.errors import Forbidden, InvalidInput, NotFound
from app.groups import service as groups_service
from app.i18n import N_, gettext, use_language
from app.outcomes import due as due_windows
from app.reminders import push, schedule
from app.reminders.models import (
    DeliveryStatus,
    PushSubscription,
    ReminderDelivery,
    ReminderPreference,
    SchedulerLease,
    VapidKey,
)

KINDS = ("practice", "questionnaire", "group_session")
STAFF_ALERT = "staff_alert"  # its words are stored with the delivery
# The push services browsers use. Only they receive our requests, so a made-up "subscription"
# cannot make the server post to a host of someone's choosing.
PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",  # Chrome, Edge, Android
    "android.googleapis.com",
    "push.services.mozilla.com",  # Firefox
    "push.apple.com",  # Safari, iOS Home Screen apps
    "notify.windows.com",  # Edge (legacy WNS)
)
# How far back a pass looks for reminders it has not planned yet (a scheduler that was down
# for a few minutes catches up), and when a reminder is too late to be worth sending.
LOOKBACK = timedelta(hours=1)
STALE_AFTER = timedelta(hours=3)
MEETING_HORIZON = timedelta(hours=30)
PUSH_TTL_SECONDS = 4 * 60 * 60
SCHEDULER_LEASE = "reminders"

# Lock screens are public: gentle words, nothing about pain, mood or health. Worded in the
# patient's language when sent (``message_for``).
MESSAGES = {
    "practice": push.Message(
        title="Tend",
        body=N_("Time for a few quiet minutes with Tend."),
        url="/today",
        tag="practice",
    ),
    "questionnaire": push.Message(
        title="Tend",
        body=N_("A few questions are ready when you are."),
        url="/questionnaires",
        tag="questions",
    ),
    "group_session": push.Message(
        title="Tend", body=N_("Your group meets today."), url="/today", tag="group"
    ),
}


def questionnaires_due(session: Session, user: User, today: date) -> list[str]:
    """Stable keys (instrument:timepoint) of the required questionnaires the patient has open
    on their local ``today``; weekly ratings are optional and not reminded of."""
    try:
        enrolment = groups_service.enrolment_of(session, patient=user)
    except Forbidden:
        return []
    group = groups_service.get_group(session, enrolment.group_id)
    return [
        f"{item.instrument.id}:{item.window.timepoint}"
        for item in due_windows.due_questionnaires(
            session, enrolment=enrolment, group=group, today=today
        )
        if not item.window.optional
    ]


# --- the patient's choice -------------------------------------------------------------------


_ZONES = frozenset(available_timezones())


def zone_or_error(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; 422 naming the field when there is none."""
    if name not in _ZONES:
        raise InvalidInput(f"{name!r} is not a time zone we know.", field="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"{name!r} is not a time zone we know.", field="timezone") from error


def get_preference(session: Session, *, user: User) -> ReminderPreference | None:
    """The patient's reminder choice, or None when they have not chosen yet."""
    return session.exec(
        select(ReminderPreference).where(ReminderPreference.user_id == user.id)
    ).first()


def save_preference(
    session: Session,
    *,
    user: User,
    practice: bool,
    questionnaire: bool,
    group_session: bool,
    time_of_day: time,
    weekdays: Sequence[int],
    timezone: str,
) -> ReminderPreference:
    """Store what the patient wants to be reminded of, when, and in which time zone."""
    zone_or_error(timezone)
    if any(not 0 <= day <= 6 for day in weekdays):
        raise InvalidInput("Days are numbered 0 (Monday) to 6 (Sunday).", field="days")
    if (practice or questionnaire) and not weekdays:
        raise InvalidInput(N_("Choose at least one day for your reminders."), field="days")
    preference = get_preference(session, user=user)
    if preference is None:
        assert user.id is not None
        preference = ReminderPreference(user_id=user.id)
    preference.practice = practice
    preference.questionnaire = questionnaire
    preference.group_session = group_session
    preference.time_of_day = time_of_day.replace(second=0, microsecond=0, tzinfo=None)
    preference.days_mask = schedule.days_mask_from(list(weekdays))
    preference.timezone = timezone
    preference.updated_at = utcnow()
    session.add(preference)
    session.flush()
    return preference


def set_paused(session: Session, *, user: User, paused: bool) -> ReminderPreference:
    """Pause every reminder at once (or resume them); waiting ones are not sent later."""
    preference = get_preference(session, user=user)
    if preference is None:
        assert user.id is not None
        preference = ReminderPreference(user_id=user.id)
    preference.paused = paused
    preference.updated_at = utcnow()
    session.add(preference)
    if paused:
        session.execute(
            update(ReminderDelivery)
            .where(
                col(ReminderDelivery.user_id) == user.id,
                col(ReminderDelivery.status) == DeliveryStatus.pending,
            )
            .values(status=DeliveryStatus.failed)
        )
    session.flush()
    return preference


def is_active(preference: ReminderPreference | None) -> bool:
    """Whether this choice asks for any reminder and is not paused."""
    return (
        preference is not None
        and not preference.paused
        and (preference.practice or preference.questionnaire or preference.group_session)
    )


# --- devices ----------------------------------------------------------------------------------


def _endpoint_key(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def subscribe(
    session: Session,
    *,
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    device_label: str = "",
    allow_test_endpoints: bool = False,
) -> tuple[PushSubscription, bool]:
    """Store this device's push subscription; (subscription, created). The same one again is
    kept once; a device that changed hands now belongs to whoever subscribed it last."""
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if allow_test_endpoints else ("https",)
    if parts.scheme not in schemes or not parts.netloc:
        raise InvalidInput("The push endpoint must be an https URL.", field="endpoint")
    host = (parts.hostname or "").lower()
    known = any(host == h or host.endswith(f".{h}") for h in PUSH_SERVICE_HOSTS)
    if not known and not allow_test_endpoints:
        raise InvalidInput("This push service is not one Tend knows.", field="endpoint")
    assert user.id is not None
    key = _endpoint_key(endpoint)
    existing = session.exec(
        select(PushSubscription).where(PushSubscription.endpoint_sha256 == key)
    ).first()
    if existing is not None:
        created = existing.user_id != user.id
        if created:
            # Reminders meant for the previous owner must not reach the new one.
            session.execute(
                delete(ReminderDelivery).where(col(ReminderDelivery.subscription_id) == existing.id)
            )
            existing.created_at = utcnow()
        existing.user_id = user.id
        existing.p256dh, existing.auth = p256dh, auth
        existing.device_label = device_label[:100]
        session.add(existing)
        session.flush()
        return existing, created
    subscription = PushSubscription(
        user_id=user.id,
        endpoint=endpoint,
        endpoint_sha256=key,
        p256dh=p256dh,
        auth=auth,
        device_label=device_label[:100],
    )
    session.add(subscription)
    session.flush()
    return subscription, True


def unsubscribe(session: Session, *, user: User, endpoint: str) -> None:
    """Forget this device's subscription (404 when it is not the patient's)."""
    subscription = session.exec(
        select(PushSubscription).where(
            PushSubscription.endpoint_sha256 == _endpoint_key(endpoint),
            PushSubscription.user_id == user.id,
        )
    ).first()
    if subscription is None:
        raise NotFound("This device is not subscribed.")
    session.delete(subscription)
    session.flush()


def list_devices(session: Session, *, user: User) -> Sequence[PushSubscription]:
    """The patient's subscribed devices, oldest first."""
    return session.exec(
        select(PushSubscription)
        .where(PushSubscription.user_id == user.id)
        .order_by(col(PushSubscription.created_at))
    ).all()


# --- what others show -------------------------------------------------------------------------


@dataclass(frozen=True)
class NextReminder:
    """What the Today page says about reminders."""

    chosen: bool  # the patient asked for practice reminders
    paused: bool
    at: datetime | None  # the next practice reminder, in the patient's own zone
    devices: int  # subscribed devices; 0 means reminders show only in the app


def next_reminder(session: Session, *, user: User, now: datetime | None = None) -> NextReminder:
    """The patient's next practice reminder, for the Today page."""
    now = now or utcnow()
    preference = get_preference(session, user=user)
    devices = len(list_devices(session, user=user))
    if preference is None or not preference.practice:
        return NextReminder(
            chosen=False, paused=bool(preference and preference.paused), at=None, devices=devices
        )
    zone = zone_or_error(preference.timezone)
    at = schedule.next_daily(
        at=preference.time_of_day, days_mask=preference.days_mask, zone=zone, after=now
    )
    return NextReminder(
        chosen=True,
        paused=preference.paused,
        at=at.astimezone(zone) if at else None,
        devices=devices,
    )


def reminders_on(session: Session, *, enrolment_ids: Sequence[int]) -> set[int]:
    """The enrolments whose patient has reminders on: chosen, not paused, and a device to
    receive them (for the facilitator's board)."""
    users = groups_service.patient_user_ids(session, enrolment_ids=enrolment_ids)
    if not users:
        return set()
    active = session.exec(
        select(ReminderPreference.user_id)
        .where(
            col(ReminderPreference.user_id).in_(users.values()),
            col(ReminderPreference.paused).is_(False),
            or_(
                col(ReminderPreference.practice),
                col(ReminderPreference.questionnaire),
                col(ReminderPreference.group_session),
            ),
        )
        .where(col(ReminderPreference.user_id).in_(select(PushSubscription.user_id).distinct()))
    ).all()
    on = set(active)
    return {enrolment_id for enrolment_id, user_id in users.items() if user_id in on}


# --- the server's VAPID key -------------------------------------------------------------------


def _insert(session: Session, table: type[SQLModel]) -> Any:
    # The dialect's own INSERT, for ON CONFLICT DO NOTHING (both engines support it).
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


class VapidPair(NamedTuple):
    private_key_pem: str
    public_key: str


def current_vapid(session: Session, *, settings: Settings) -> VapidPair:
    """The VAPID key to sign with: from TEND_VAPID_PRIVATE_KEY_FILE when set (a database
    dump then holds no signing key), else the one kept in the database."""
    if settings.vapid_private_key_file is not None:
        pem = settings.vapid_private_key_file.read_text(encoding="ascii")
        return VapidPair(pem, push.public_key_of(push.load_vapid(pem)))
    stored = ensure_vapid_key(session)
    return VapidPair(stored.private_key_pem, stored.public_key)


def ensure_vapid_key(session: Session) -> VapidKey:
    """The server's VAPID key, made the first time it is needed (once, whichever worker asks)."""
    key = session.get(VapidKey, 1)
    if key is not None:
        return key
    pem, public = push.generate_vapid_key()
    statement = _insert(session, VapidKey).values(
        id=1, private_key_pem=pem, public_key=public, created_at=utcnow()
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
    session.flush()
    stored = session.get(VapidKey, 1, populate_existing=True)
    assert stored is not None
    return stored


# --- the scheduler's steps (app/reminders/scheduler.py owns the transactions) ----------------


def take_lease(
    session: Session, *, holder: str, now: datetime, ttl: timedelta, name: str = SCHEDULER_LEASE
) -> bool:
    """Take (or renew) the named lease if it is free, expired or already ours: one atomic UPDATE."""
    statement = _insert(session, SchedulerLease).values(
        name=name, holder="", expires_at=now - timedelta(seconds=1)
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
    result = session.execute(
        update(SchedulerLease)
        .where(
            col(SchedulerLease.name) == name,
            or_(col(SchedulerLease.expires_at) < now, col(SchedulerLease.holder) == holder),
        )
        .values(holder=holder, expires_at=now + ttl)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_lease(
    session: Session, *, holder: str, now: datetime, name: str = SCHEDULER_LEASE
) -> None:
    """Give the lease back so another scheduler can take over at once."""
    session.execute(
        update(SchedulerLease)
        .where(col(SchedulerLease.name) == name, col(SchedulerLease.holder) == holder)
        .values(expires_at=now - timedelta(seconds=1))
    )


def _due_occurrences(
    session: Session,
    preference: ReminderPreference,
    user: User,
    meetings: Sequence[tuple[int, datetime]],
    *,
    start: datetime,
    now: datetime,
) -> list[schedule.Occurrence]:
    zone = ZoneInfo(preference.timezone)
    # Nothing due before the patient made this choice: choosing 08:30 at 09:00 sends nothing today.
    since = max(start, preference.updated_at)
    found: list[schedule.Occurrence] = []
    if preference.practice:
        found += schedule.daily_occurrences(
            kind="practice",
            at=preference.time_of_day,
            days_mask=preference.days_mask,
            zone=zone,
            start=since,
            end=now,
        )
    if preference.questionnaire:
        # The chosen time on every day the window reaches, so a pass just after midnight still
        # sends the one due at 23:35 (looking at today only, it was lost until the next day).
        for daily in schedule.daily_occurrences(
            kind="questionnaire",
            at=preference.time_of_day,
            days_mask=preference.days_mask,
            zone=zone,
            start=since,
            end=now,
        ):
            day = daily.due_at.astimezone(zone).date()
            # One reminder per questionnaire, not one a day until it is done.
            found += [
                schedule.Occurrence(
                    key=f"questionnaire:{key}", kind="questionnaire", due_at=daily.due_at
                )
                for key in questionnaires_due(session, user, day)
            ]
    if preference.group_session:
        for meeting_id, starts_at in meetings:
            due = schedule.session_reminder_at(
                starts_at=starts_at, at=preference.time_of_day, zone=zone, not_before=since
            )
            if due is not None and due < now:
                key = f"group_session:{meeting_id}"
                found.append(schedule.Occurrence(key=key, kind="group_session", due_at=due))
    return found


def plan_deliveries(session: Session, *, now: datetime, lookback: timedelta = LOOKBACK) -> int:
    """Add a delivery for every reminder now due on every subscribed device; each
    (device, occurrence) pair is inserted once, however many schedulers try. Returns how many."""
    start = now - lookback
    rows = session.exec(
        select(ReminderPreference, User)
        .join(User, col(User.id) == ReminderPreference.user_id)
        .where(
            col(ReminderPreference.paused).is_(False),
            col(User.is_active).is_(True),
            col(ReminderPreference.user_id).in_(select(PushSubscription.user_id).distinct()),
        )
    ).all()
    active = [(preference, user) for preference, user in rows if is_active(preference)]
    if not active:
        return 0
    user_ids = [user.id for _, user in active if user.id is not None]
    meetings: dict[int, list[tuple[int, datetime]]] = {}
    for user_id, meeting in groups_service.meetings_for_patients(
        session, user_ids=user_ids, start=start, end=now + MEETING_HORIZON
    ):
        meetings.setdefault(user_id, []).append((meeting.id or 0, meeting.starts_at))
    subscriptions: dict[int, list[PushSubscription]] = {}
    for subscription in session.exec(
        select(PushSubscription).where(col(PushSubscription.user_id).in_(user_ids))
    ).all():
        subscriptions.setdefault(subscription.user_id, []).append(subscription)
    values = []
    for preference, user in active:
        assert user.id is not None
        for occurrence in _due_occurrences(
            session, preference, user, meetings.get(user.id, []), start=start, now=now
        ):
            for subscription in subscriptions.get(user.id, []):
                if occurrence.due_at < subscription.created_at:
                    continue  # a device added later does not get earlier reminders
                values.append(
                    {
                        "subscription_id": subscription.id,
                        "user_id": user.id,
                        "occurrence_key": occurrence.key,
                        "kind": occurrence.kind,
                        "due_at": occurrence.due_at,
                        "status": DeliveryStatus.pending.value,
                        "attempts": 0,
                        "next_attempt_at": occurrence.due_at,
                        "created_at": now,
                    }
                )
    if not values:
        return 0
    statement = _insert(session, ReminderDelivery).values(values)
    inserted = session.execute(
        statement.on_conflict_do_nothing(
            index_elements=["subscription_id", "occurrence_key"]
        ).returning(ReminderDelivery.id)
    ).all()
    return len(inserted)


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this scheduler alone will send now."""

    id: int
    kind: str
    attempts: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    message: push.Message


def claim_due(session: Session, *, now: datetime, limit: int = 100) -> list[ClaimedDelivery]:
    """Claim deliveries that are due: each flips from pending to sending exactly once, so two
    schedulers never both send it. Ones too late to help are given up."""
    session.execute(
        update(ReminderDelivery)
        .where(
            col(ReminderDelivery.status) == DeliveryStatus.pending,
            col(ReminderDelivery.due_at) < now - STALE_AFTER,
        )
        .values(status=DeliveryStatus.failed)
    )
    query = (
        select(ReminderDelivery.id)
        .where(
            col(ReminderDelivery.status) == DeliveryStatus.pending,
            col(ReminderDelivery.next_attempt_at) <= now,
        )
        .order_by(col(ReminderDelivery.due_at))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for delivery_id in session.exec(query).all():
        result = session.execute(
            update(ReminderDelivery)
            .where(
                and_(
                    col(ReminderDelivery.id) == delivery_id,
                    col(ReminderDelivery.status) == DeliveryStatus.pending,
                )
            )
            .values(status=DeliveryStatus.sending, attempts=ReminderDelivery.attempts + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        delivery = session.get(ReminderDelivery, delivery_id, populate_existing=True)
        assert delivery is not None
        subscription = session.get(PushSubscription, delivery.subscription_id)
        if subscription is None or delivery_id is None:
            continue
        claimed.append(
            ClaimedDelivery(
                id=delivery_id,
                kind=delivery.kind,
                attempts=delivery.attempts,
                subscription_id=delivery.subscription_id,
                endpoint=subscription.endpoint,
                p256dh=subscription.p256dh,
                auth=subscription.auth,
                message=push.Message(**delivery.message)
                if delivery.message
                else message_for(
                    delivery.kind,
                    language=clinics_service.language_of(session, user_id=delivery.user_id),
                ),
            )
        )
    return claimed


def record_result(
    session: Session, *, claimed: ClaimedDelivery, result: push.SendResult, now: datetime
) -> None:
    """Write down what the push service said: sent; gone (forget the device); try again later
    with backoff; or give up."""
    delivery = session.get(ReminderDelivery, claimed.id)
    if delivery is None:
        return  # the device was forgotten meanwhile
    delivery.last_status_code = result.status_code
    if result.outcome == push.Outcome.sent:
        delivery.status = DeliveryStatus.sent
        delivery.sent_at = now
        subscription = session.get(PushSubscription, claimed.subscription_id)
        if subscription is not None:
            subscription.last_sent_at = now
            session.add(subscription)
    elif result.outcome == push.Outcome.gone:
        subscription = session.get(PushSubscription, claimed.subscription_id)
        delivery.status = DeliveryStatus.gone
        session.add(delivery)
        session.flush()
        if subscription is not None:
            session.delete(subscription)  # its deliveries go with it
        session.flush()
        return
    elif result.outcome == push.Outcome.retry and delivery.attempts < push.MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.pending
        delivery.next_attempt_at = now + push.backoff(delivery.attempts, result.retry_after)
    else:
        delivery.status = DeliveryStatus.failed
    session.add(delivery)
    session.flush()


def queue_staff_alert(
    session: Session, *, user_ids: Sequence[int], key: str, message: push.Message, now: datetime
) -> int:
    """A push to every device these staff subscribed, sent by the next scheduler pass; the
    same ``key`` again queues nothing (one alert per device, however often it is asked)."""
    subscriptions = session.exec(
        select(PushSubscription).where(col(PushSubscription.user_id).in_(user_ids))
    ).all()
    values = [
        {
            "subscription_id": subscription.id,
            "user_id": subscription.user_id,
            "occurrence_key": key,
            "kind": STAFF_ALERT,
            "message": {
                "title": message.title,
                "body": message.body,
                "url": message.url,
                "tag": message.tag,
            },
            "due_at": now,
            "next_attempt_at": now,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "created_at": now,
        }
        for subscription in subscriptions
    ]
    if not values:
        return 0
    statement = _insert(session, ReminderDelivery).values(values)
    inserted = session.execute(
        statement.on_conflict_do_nothing(
            index_elements=["subscription_id", "occurrence_key"]
        ).returning(ReminderDelivery.id)
    ).all()
    return len(inserted)


def message_for(kind: str, *, language: str | None = None) -> push.Message:
    """The gentle words a reminder of ``kind`` shows, in ``language`` (English if None)."""
    message = MESSAGES[kind]
    with use_language(language):
        return replace(message, body=gettext(message.body))
