"""Clinics and the people who use Tend: staff accounts and patient accounts."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class Role(StrEnum):
    admin = "admin"
    facilitator = "facilitator"
    clinician = "clinician"
    patient = "patient"


STAFF_ROLES = frozenset({Role.admin, Role.facilitator, Role.clinician})
# The NHS records management code's period for adult health records.
DEFAULT_RETENTION_YEARS = 8


class RetentionAction(StrEnum):
    delete = "delete"  # the patient's account and everything recorded go
    pseudonymise = "pseudonymise"  # identifiers go; pseudonymous rows stay for evaluation


class Clinic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(default="Europe/London", max_length=64)
    # Shown at once to a patient whose answers raise a safety flag; the clinic may rewrite it.
    crisis_text: str = Field(
        default=(
            "If you are thinking about harming yourself or feel unsafe, please talk to someone "
            "now. In the UK you can call NHS 111 (option 2 for mental health), call Samaritans "
            "free on 116 123 at any time, or text SHOUT to 85258. In an emergency call 999 or "
            "go to A&E."
        )
    )
    # Working days (Monday to Friday) within which someone answers a safety flag; the patient's
    # crisis text says so, and a flag still open after it is escalated to every clinician.
    safety_response_working_days: int = 1
    # Years a patient's data is kept after their group ends (`tend retention`). New clinics
    # start at the default; clinics from before the setting existed have none until they choose.
    retention_years: int | None = DEFAULT_RETENTION_YEARS
    retention_action: RetentionAction = Field(
        default=RetentionAction.delete, sa_type=enum_type(RetentionAction)
    )
    # The interface language of its people until each chooses their own (app/i18n); None
    # follows each person's browser (Accept-Language).
    default_language: str | None = Field(default="en", max_length=16)
    demo_seed: int | None = None
    demo_seeded_on: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """Anyone who signs in. Staff sign in with their email; patients with their participant code."""

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True, ondelete="CASCADE")
    login: str = Field(unique=True, max_length=254)
    role: Role = Field(sa_type=enum_type(Role))
    display_name: str = Field(default="", max_length=200)
    password_hash: str | None = Field(default=None, max_length=200)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The interface language they chose (app/i18n); None follows their clinic, then browser.
    language: str | None = Field(default=None, max_length=16)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES
