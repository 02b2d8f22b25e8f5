"""A programme: ordered weeks, and a library of exercises the weeks draw on."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class ExerciseKind(StrEnum):
    breathing = "breathing"
    mindfulness = "mindfulness"
    body_scan = "body_scan"
    movement = "movement"
    imagery = "imagery"
    loving_kindness = "loving_kindness"
    compassion = "compassion"


class PracticeRole(StrEnum):
    core = "core"
    anytime = "anytime"
    flare = "flare"


class Programme(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    version: int = 1
    title: str = Field(max_length=200)
    summary: str = ""
    target_minutes_per_day: int = 10
    target_days_per_week: int = 5
    completer_weeks: int = 5
    # Set when an admin edits the adherence rule in the app: from then on their rule wins
    # over the programme file's, so reloading the file does not undo it.
    adherence_rule_edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_sha256: str = Field(default="", max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Week(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("programme_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id", index=True, ondelete="CASCADE")
    number: int
    title: str = Field(max_length=200)
    theme: str = ""
    teaching: str = ""
    reflection_prompt: str = ""
    home_practice: str = ""


class Exercise(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("programme_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=64)
    title: str = Field(max_length=200)
    kind: ExerciseKind = Field(sa_type=enum_type(ExerciseKind))
    minutes: int
    summary: str = ""
    script: str = ""
    # Hash of the script text: the audio build renders an exercise again only when it changes.
    script_sha256: str = Field(default="", max_length=64)


class WeekTranslation(SQLModel, table=True):
    """A week's words in another language, from the programme file."""

    __tablename__ = "week_translation"
    __table_args__ = (UniqueConstraint("week_id", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    week_id: int = Field(foreign_key="week.id", index=True, ondelete="CASCADE")
    language: str = Field(max_length=8)
    title: str = Field(max_length=200)
    theme: str = ""
    teaching: str = ""
    reflection_prompt: str = ""
    home_practice: str = ""


class ExerciseTranslation(SQLModel, table=True):
    """An exercise's title, summary and (when translated) script in another language, from the
    programme file. Shown as text only: the audio is always rendered from the original script."""

    __tablename__ = "exercise_translation"
    __table_args__ = (UniqueConstraint("exercise_id", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    exercise_id: int = Field(foreign_key="exercise.id", index=True, ondelete="CASCADE")
    language: str = Field(max_length=8)
    title: str = Field(max_length=200)
    summary: str = ""
    script: str = ""  # empty when only the title and summary are translated


class WeekPractice(SQLModel, table=True):
    """An exercise offered in a week, in order, as a core, anytime or flare-day practice."""

    __tablename__ = "week_practice"
    __table_args__ = (UniqueConstraint("week_id", "exercise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    week_id: int = Field(foreign_key="week.id", index=True, ondelete="CASCADE")
    exercise_id: int = Field(foreign_key="exercise.id", index=True, ondelete="CASCADE")
    position: int
    role: PracticeRole = Field(sa_type=enum_type(PracticeRole))


class ClinicAdherenceRule(SQLModel, table=True):
    """One clinic's adherence rule for a programme, set by that clinic's admin. Without one,
    the clinic uses the programme's rule: clinics share programmes, not their rules."""

    __tablename__ = "clinic_adherence_rule"
    __table_args__ = (UniqueConstraint("clinic_id", "programme_id"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True, ondelete="CASCADE")
    programme_id: int = Field(foreign_key="programme.id", index=True, ondelete="CASCADE")
    minutes_per_day: int
    days_per_week: int
    completer_weeks: int
    bad_day_counts: bool = True
    edited_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
