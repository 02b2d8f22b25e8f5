"""The practice-log and check-in shapes of the JSON API (see CONTRACT.md)."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Rating = Annotated[int, Field(ge=0, le=10, strict=True)]
MAX_LISTENED_SECONDS = 6 * 3600


def _known_timezone(name: str) -> str:
    if name not in _TIMEZONES:
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/London'")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError as error:  # pragma: no cover - listed zones always load
        raise ValueError(f"{name!r} is not an IANA time zone") from error
    return name


_TIMEZONES = frozenset(available_timezones())
TimeZoneName = Annotated[str, AfterValidator(_known_timezone)]


class Ratings(BaseModel):
    """0-10 ratings; any may be left out, but not all."""

    model_config = ConfigDict(extra="forbid")

    pain_intensity: Rating | None = None
    pain_distress: Rating | None = None
    mood: Rating | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> "Ratings":
        if self.pain_intensity is None and self.pain_distress is None and self.mood is None:
            raise ValueError("give at least one of pain_intensity, pain_distress, mood")
        return self


class PracticeLogCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    exercise_id: int | None = None
    kind: Literal["own", "group", "anytime"] | None = None
    started_at: AwareDatetime
    timezone: TimeZoneName
    local_date: date
    listened_seconds: int = Field(ge=0, le=MAX_LISTENED_SECONDS)
    completed: bool
    ratings_before: Ratings | None = None
    ratings_after: Ratings | None = None

    @model_validator(mode="after")
    def _exercise_or_kind(self) -> "PracticeLogCreate":
        if (self.exercise_id is None) == (self.kind is None):
            raise ValueError("give either exercise_id (practice with audio) or kind, not both")
        return self


class PracticeLogRead(BaseModel):
    id: UUID
    exercise_id: int | None
    exercise_title: str | None
    kind: str
    started_at: datetime
    timezone: str
    local_date: date
    listened_seconds: int
    completed: bool
    ratings_before: Ratings | None
    ratings_after: Ratings | None
    received_at: datetime
    clock_suspect: bool


class CheckInCreate(BaseModel):
    """Ratings on their own, not tied to a practice."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    recorded_at: AwareDatetime
    timezone: TimeZoneName
    local_date: date
    ratings: Ratings


class CheckInRead(BaseModel):
    id: UUID
    recorded_at: datetime
    local_date: date
    ratings: Ratings


class ReflectionWrite(BaseModel):
    """A reflection as the phone sends it; the id (a UUID made on the phone) is in the path."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["weekly", "end_of_programme"]
    week_number: int | None = Field(default=None, ge=1, le=52)
    text: str = Field(min_length=1, max_length=10_000)
    share_with_group: bool = False
    share_name: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> "ReflectionWrite":
        if self.kind == "weekly" and self.week_number is None:
            raise ValueError("a weekly reflection needs week_number")
        if self.kind == "end_of_programme" and self.week_number is not None:
            raise ValueError("an end-of-programme reflection has no week_number")
        if self.share_name and not self.share_with_group:
            raise ValueError("share_name needs share_with_group")
        return self


class ReflectionRead(BaseModel):
    id: UUID
    kind: str
    week_number: int | None
    text: str
    share_with_group: bool
    share_name: bool
    created_at: datetime
    updated_at: datetime
