"""API shapes for staff: the engagement board and the register."""

from datetime import date

from pydantic import BaseModel

from app.groups.models import AttendanceStatus


class FlagRead(BaseModel):
    kind: str
    severity: str
    text: str
    participant_code: str
    link: str


class WeekRead(BaseModel):
    number: int
    practice_days: int
    met: bool


class BoardRowRead(BaseModel):
    participant_code: str
    status: str
    days: list[str]
    weeks: list[WeekRead]
    weeks_met: int
    minutes_this_week: int
    last_activity: date | None
    # given, outdated (asked again at the next visit), missing, or not_asked (no sheet)
    consent: str


class BoardRead(BaseModel):
    group: str
    week: int
    days: list[date]
    adherence_rule: str
    rows: list[BoardRowRead]
    flags: list[FlagRead]


class RegisterWrite(BaseModel):
    """Attendance by participant code: present, absent or apologies."""

    attendance: dict[str, AttendanceStatus]


class RegisterRead(BaseModel):
    session: int
    attendance: dict[str, AttendanceStatus]
