"""Questionnaire administrations (drafts, submitted scores, corrections) and safety flags."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, column
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class AdministrationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class Administration(SQLModel, table=True):
    """One questionnaire at one timepoint for one enrolment.

    Submitted answers never change: a correction is a new row whose ``supersedes_id`` names
    the row it replaces, so the history stays readable.
    """

    __table_args__ = (
        # Leads with enrolment_id, so it serves every per-patient lookup, and covers the
        # outcome summary's scores (SQLite reads them from the index alone, in group order).
        Index(
            "ix_administration_enrolment_id_instrument_id",
            "enrolment_id",
            "instrument_id",
            "timepoint",
            "status",
            "score_total",
        ),
        # Few rows are corrections: summaries find the replaced rows without reading them all.
        Index(
            "ix_administration_supersedes_id",
            "supersedes_id",
            sqlite_where=column("supersedes_id").is_not(None),
            postgresql_where=column("supersedes_id").is_not(None),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", ondelete="CASCADE")
    instrument_id: str = Field(max_length=64, index=True)
    instrument_version: str = Field(max_length=32)
    timepoint: str = Field(max_length=16)  # baseline, end, follow_up or week_N
    status: AdministrationStatus = Field(
        default=AdministrationStatus.draft, sa_type=enum_type(AdministrationStatus)
    )
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    score_total: float | None = None
    score_band: str | None = Field(default=None, max_length=64)
    is_case: bool | None = None
    entered_as_total: bool = False
    # Scored with unanswered items filled by the mean of the answered ones (PHQ-9 allows two):
    # pages mark it, exports carry it and the summary can leave such totals out.
    prorated: bool = False
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    staff_entered: bool = False
    entered_by_user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    supersedes_id: int | None = Field(
        default=None, foreign_key="administration.id", ondelete="SET NULL"
    )


class SafetyFlag(SQLModel, table=True):
    """A risk answer (PHQ-9 item 9 above 0) that stays on staff pages until acknowledged."""

    __tablename__ = "safety_flag"

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True, ondelete="CASCADE")
    administration_id: int = Field(foreign_key="administration.id", ondelete="CASCADE")
    instrument_id: str = Field(max_length=64)
    item_id: str = Field(max_length=64)
    answer: int
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_user_id: int | None = Field(
        default=None, foreign_key="user.id", ondelete="SET NULL"
    )
    acknowledged_by_name: str | None = Field(default=None, max_length=200)
