"""A clinic's codebook (themes) and which themes each patient comment carries."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Theme(SQLModel, table=True):
    """One code in a clinic's codebook. Retired themes keep their codings but are not offered."""

    __table_args__ = (UniqueConstraint("clinic_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True, ondelete="CASCADE")
    label: str = Field(max_length=100)
    description: str = Field(default="", max_length=500)
    position: int = 0
    retired: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReflectionTheme(SQLModel, table=True):
    """A theme given to a patient's comment (a reflection); a comment may carry several."""

    __tablename__ = "reflection_theme"

    reflection_id: str = Field(
        foreign_key="reflection.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    theme_id: int = Field(foreign_key="theme.id", primary_key=True, ondelete="CASCADE")
    coded_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    coded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
