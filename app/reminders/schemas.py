"""Reminder shapes of the JSON API."""

from datetime import datetime, time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

# A wall-clock time as people write it ("08:00"). JSON Schema's "time" format demands a UTC
# offset, which a local reminder time has none of, so the schema says what we really accept.
LocalTime = Annotated[
    time,
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["08:00"]}
    ),
]


class ReminderPreferenceWrite(BaseModel):
    """What to be reminded of, at what local time, on which days (0 Monday ... 6 Sunday)."""

    model_config = ConfigDict(extra="forbid")

    practice: bool = False
    questionnaire: bool = False
    group_session: bool = False
    time_of_day: LocalTime = Field(description="Local wall-clock time, e.g. 08:00")
    days: list[int] = Field(default_factory=lambda: list(range(7)), max_length=7)
    timezone: str = Field(description="IANA time zone, e.g. Europe/London", max_length=64)


class ReminderPreferenceRead(BaseModel):
    chosen: bool
    practice: bool
    questionnaire: bool
    group_session: bool
    time_of_day: LocalTime
    days: list[int]
    timezone: str
    paused: bool
    next_practice_reminder_at: datetime | None
    devices: int


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=20, max_length=200)
    auth: str = Field(min_length=8, max_length=100)


class PushSubscriptionWrite(BaseModel):
    """A browser's PushSubscription.toJSON(), plus an optional label for the device."""

    endpoint: str = Field(min_length=10, max_length=2000)
    keys: PushKeys
    expirationTime: float | None = None  # the browser's own name
    device_label: str = Field(default="", max_length=100)


class PushSubscriptionRemove(BaseModel):
    endpoint: str = Field(min_length=10, max_length=2000)


class PushSubscriptionRead(BaseModel):
    id: int
    device_label: str
    created_at: datetime


class VapidPublicKey(BaseModel):
    public_key: str
