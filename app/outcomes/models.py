"""Questionnaire administrations (drafts, submitted scores, corrections) and safety flags."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, column
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
    """A risk answer (a safety item above its threshold, PHQ-9 item 9 above 0) that stays on
    staff pages until acknowledged. One open flag per enrolment (an episode of care): later
    answers update it, and ``answer_history`` keeps every one (draft, sent, corrected, refused).
    """

    __tablename__ = "safety_flag"
    __table_args__ = (
        # At most one open flag per enrolment, even when two requests race.
        Index(
            "uq_safety_flag_open_per_enrolment",
            "enrolment_id",
            unique=True,
            sqlite_where=column("acknowledged_at").is_(None),
            postgresql_where=column("acknowledged_at").is_(None),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True, ondelete="CASCADE")
    # None when the form was refused before anything was stored (a window that had closed).
    administration_id: int | None = Field(
        default=None, foreign_key="administration.id", ondelete="SET NULL"
    )
    instrument_id: str = Field(max_length=64)
    item_id: str = Field(max_length=64)
    timepoint: str | None = Field(default=None, max_length=16)
    answer: int  # the latest answer to the safety item
    # [{"at": ISO instant, "how": draft|sent|refused|paper|correction, "answer": int,
    #   "instrument": id, "item": id, "timepoint": str}], oldest first.
    answer_history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The clinic's response time after raised_at; still open after it, the flag is escalated.
    respond_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_user_id: int | None = Field(
        default=None, foreign_key="user.id", ondelete="SET NULL"
    )
    acknowledged_by_name: str | None = Field(default=None, max_length=200)
    acknowledged_action: str | None = Field(default=None, max_length=32)
    acknowledged_note: str | None = Field(default=None, sa_type=Text)
