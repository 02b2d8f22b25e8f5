"""What patients record: acts of practice and their 0-10 check-in ratings."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class PracticeKind(StrEnum):
    exercise = "exercise"  # with one of the programme's audio exercises
    own = "own"  # on one's own, without audio
    group = "group"  # in the group session
    anytime = "anytime"  # a short practice in the day or during a flare


class CheckInMoment(StrEnum):
    before = "before"
    after = "after"
    standalone = "standalone"


class PracticeLog(SQLModel, table=True):
    """One act of practice. The id is a UUID made on the phone, so a replay is stored once."""

    __tablename__ = "practice_log"
    __table_args__ = (
        # Leads with enrolment_id, so it serves every per-patient lookup, and covers the
        # outcome summary's practice totals (read from the index alone, day by day).
        Index(
            "ix_practice_log_enrolment_id_local_date",
            "enrolment_id",
            "local_date",
            "listened_seconds",
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    enrolment_id: int = Field(foreign_key="enrolment.id", ondelete="CASCADE")
    exercise_id: int | None = Field(
        default=None, foreign_key="exercise.id", index=True, ondelete="SET NULL"
    )
    kind: PracticeKind = Field(sa_type=enum_type(PracticeKind))
    started_at: datetime = Field(sa_type=UTCDateTime)
    utc_offset_minutes: int
    timezone: str = Field(max_length=64)
    local_date: date = Field(index=True)
    listened_seconds: int
    completed: bool
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The phone's clock said the practice started well after the server received it.
    clock_suspect: bool = False
    # SHA-256 of the canonical request body: a replay must match it exactly.
    request_sha256: str = Field(max_length=64)


class CheckIn(SQLModel, table=True):
    __tablename__ = "check_in"
    __table_args__ = (
        CheckConstraint("pain_intensity BETWEEN 0 AND 10", name="pain_intensity_range"),
        CheckConstraint("pain_distress BETWEEN 0 AND 10", name="pain_distress_range"),
        CheckConstraint("mood BETWEEN 0 AND 10", name="mood_range"),
    )

    id: str = Field(primary_key=True, max_length=36)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True, ondelete="CASCADE")
    practice_log_id: str | None = Field(
        default=None, foreign_key="practice_log.id", index=True, ondelete="CASCADE"
    )
    moment: CheckInMoment = Field(sa_type=enum_type(CheckInMoment))
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    local_date: date = Field(index=True)
    pain_intensity: int | None = None
    pain_distress: int | None = None
    mood: int | None = None
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReflectionKind(StrEnum):
    weekly = "weekly"  # the week's reflection prompt
    end_of_programme = "end_of_programme"  # "what, if anything, has changed for you ...?"


class Reflection(SQLModel, table=True):
    """A patient's own words. Private unless they choose to share them with their group."""

    id: str = Field(primary_key=True, max_length=36)  # a UUID made on the phone
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True, ondelete="CASCADE")
    kind: ReflectionKind = Field(sa_type=enum_type(ReflectionKind))
    week_number: int | None = None
    text: str
    # Shared (anonymously) in the facilitator's session digest; named only if allowed too.
    share_with_group: bool = False
    share_name: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
