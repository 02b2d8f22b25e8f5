"""Reminders: what each patient chose, their devices' push subscriptions, every delivery, the
server's VAPID key and the scheduler's lease."""

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class ReminderPreference(SQLModel, table=True):
    """One patient's choice. No row, or nothing chosen, means no reminders (quiet by default)."""

    __tablename__ = "reminder_preference"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True, ondelete="CASCADE")
    practice: bool = False
    questionnaire: bool = False
    group_session: bool = False
    time_of_day: time = time(8, 0)
    # Monday is bit 0, Sunday bit 6 (datetime.weekday()).
    days_mask: int = 0b1111111
    timezone: str = Field(default="Europe/London", max_length=64)
    paused: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PushSubscription(SQLModel, table=True):
    """One device's Web Push subscription (the browser's endpoint and its encryption keys)."""

    __tablename__ = "push_subscription"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # Endpoints can be long; the unique key is their SHA-256.
    endpoint: str = Field(sa_type=Text)
    endpoint_sha256: str = Field(unique=True, max_length=64)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    device_label: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting to be sent (or to be retried after next_attempt_at)
    sending = "sending"  # claimed by a scheduler; never sent again, so never twice
    sent = "sent"
    failed = "failed"  # gave up: permanent error, too many tries, or too late to be useful
    gone = "gone"  # the push service said the subscription no longer exists


class ReminderDelivery(SQLModel, table=True):
    """One reminder occurrence for one device: the unique pair is the idempotency key."""

    __tablename__ = "reminder_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "occurrence_key"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="push_subscription.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    occurrence_key: str = Field(max_length=100)
    kind: str = Field(max_length=32)
    # A staff alert's own words ({"title", "body", "url", "tag"}); reminders use their kind's.
    message: dict[str, str] | None = Field(default=None, sa_type=JSON)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.pending, sa_type=enum_type(DeliveryStatus), index=True
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_status_code: int | None = None
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VapidKey(SQLModel, table=True):
    """The server's VAPID key pair, made once and shared by every worker (id is always 1)."""

    __tablename__ = "vapid_key"

    id: int = Field(primary_key=True)
    private_key_pem: str = Field(sa_type=Text)
    public_key: str = Field(max_length=100)  # uncompressed P-256 point, base64url
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SchedulerLease(SQLModel, table=True):
    """Who may run a periodic job now: taken with an atomic UPDATE ... WHERE expired."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(default="", max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime)
