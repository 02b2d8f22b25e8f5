"""A clinic's information sheet and consent statements (every version kept), and each
patient's answers to one version."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class ConsentDocument(SQLModel, table=True):
    """One published version of a clinic's information sheet and statements. Never edited:
    a change is a new version, and patients are asked again at their next visit."""

    __tablename__ = "consent_document"
    __table_args__ = (UniqueConstraint("clinic_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True, ondelete="CASCADE")
    version: int
    information_sheet: str = Field(sa_type=Text)  # Markdown, written by the clinic
    # [{"key": "use_tend", "text": "...", "required": true}, ...] in the order shown.
    statements: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    published_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class ConsentMethod(StrEnum):
    app = "app"  # ticked by the patient in Tend
    paper = "paper"  # signed on paper; recorded by staff


class ConsentRecord(SQLModel, table=True):
    """A patient's answers to one version: which statements they agreed to, when, and how."""

    __tablename__ = "consent_record"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    document_id: int = Field(foreign_key="consent_document.id", index=True, ondelete="CASCADE")
    answers: dict[str, bool] = Field(default_factory=dict, sa_type=JSON)
    method: ConsentMethod = Field(default=ConsentMethod.app, sa_type=enum_type(ConsentMethod))
    given_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
