"""Every table, imported in one place so migrations and tests see the whole schema."""

from sqlmodel import SQLModel

from app.audio.models import AudioAsset, AudioRendition
from app.audit.models import AuditEvent
from app.auth.models import AuthSession, Invite
from app.clinics.models import Clinic, User
from app.comments.models import ReflectionTheme, Theme
from app.consent.models import ConsentDocument, ConsentRecord
from app.groups.models import (
    Attendance,
    Enrolment,
    EnrolmentContact,
    Group,
    GroupFacilitator,
    GroupSession,
    WeekUnlock,
)
from app.outcomes.models import Administration, SafetyFlag
from app.practice.models import CheckIn, PracticeLog, Reflection
from app.programme.models import (
    ClinicAdherenceRule,
    Exercise,
    ExerciseTranslation,
    Programme,
    Week,
    WeekPractice,
    WeekTranslation,
)
from app.reminders.models import (
    PushSubscription,
    ReminderDelivery,
    ReminderPreference,
    SchedulerLease,
    VapidKey,
)
from app.security.models import RateLimitBucket, RefusalCount

metadata = SQLModel.metadata

__all__ = [
    "AudioAsset",
    "ClinicAdherenceRule",
    "AudioRendition",
    "Reflection",
    "Attendance",
    "AuditEvent",
    "AuthSession",
    "CheckIn",
    "ConsentDocument",
    "ConsentRecord",
    "Clinic",
    "Enrolment",
    "Exercise",
    "ExerciseTranslation",
    "Group",
    "GroupFacilitator",
    "GroupSession",
    "Invite",
    "PracticeLog",
    "Programme",
    "User",
    "Week",
    "WeekPractice",
    "WeekTranslation",
    "Administration",
    "SafetyFlag",
    "metadata",
    "PushSubscription",
    "ReminderDelivery",
    "ReminderPreference",
    "SchedulerLease",
    "VapidKey",
    "EnrolmentContact",
    "ReflectionTheme",
    "Theme",
    "WeekUnlock",
    "RateLimitBucket",
    "RefusalCount",
]
