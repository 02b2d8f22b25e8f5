"""Groups running a programme: their facilitators, meetings, enrolled patients and register."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class Group(SQLModel, table=True):
    __tablename__ = "group_"  # "group" is an SQL keyword

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True, ondelete="CASCADE")
    programme_id: int = Field(foreign_key="programme.id", index=True, ondelete="RESTRICT")
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    start_date: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GroupFacilitator(SQLModel, table=True):
    __tablename__ = "group_facilitator"

    group_id: int = Field(foreign_key="group_.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")


class GroupSession(SQLModel, table=True):
    """A dated meeting of the group; number matches the programme week it belongs to."""

    __tablename__ = "group_session"
    __table_args__ = (UniqueConstraint("group_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", index=True, ondelete="CASCADE")
    number: int
    starts_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=300)
    cancelled: bool = False


class EnrolmentStatus(StrEnum):
    active = "active"
    withdrawn = "withdrawn"


class Enrolment(SQLModel, table=True):
    """A patient in a group, known outside the clinic only by the pseudonymous participant code."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", unique=True, ondelete="CASCADE")
    participant_code: str = Field(unique=True, max_length=32)
    status: EnrolmentStatus = Field(
        default=EnrolmentStatus.active, sa_type=enum_type(EnrolmentStatus)
    )
    enrolled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the patient left (withdrawn) or was moved; staff write it, it is never exported.
    status_reason: str = Field(default="", max_length=500)
    # When what the patient recorded was erased at their request (counted in summaries).
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When retention stripped the identifiers and kept the pseudonymous rows.
    pseudonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AttendanceStatus(StrEnum):
    present = "present"
    absent = "absent"
    apologies = "apologies"


class Attendance(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("group_session_id", "enrolment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_session_id: int = Field(foreign_key="group_session.id", index=True, ondelete="CASCADE")
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True, ondelete="CASCADE")
    status: AttendanceStatus = Field(sa_type=enum_type(AttendanceStatus))
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EnrolmentContact(SQLModel, table=True):
    """A patient's name and contact details, held apart from their data and never exported."""

    __tablename__ = "enrolment_contact"

    enrolment_id: int = Field(foreign_key="enrolment.id", primary_key=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WeekUnlock(SQLModel, table=True):
    """A facilitator's manual choice for one programme week, overriding its date."""

    __tablename__ = "week_unlock"
    __table_args__ = (UniqueConstraint("group_id", "week_number"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", index=True, ondelete="CASCADE")
    week_number: int
    unlocked: bool
    set_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
