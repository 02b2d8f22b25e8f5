"""The export tables: each column defined once, so the CSV header and the codebook agree."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.groups.models import Attendance, Enrolment, Group, GroupSession
from app.outcomes import service as outcomes_service
from app.practice.models import CheckIn, PracticeLog
from app.programme.models import Exercise

RATING_VALUES = "0-10 (0 = none/worst mood ... 10 = worst pain/best mood); blank = not given"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, integer, boolean, date, datetime
    label: str
    allowed: str = ""
    units: str = ""
    missing: str = ""


@dataclass(frozen=True)
class Table:
    file: str
    description: str
    columns: Sequence[Column]
    rows: Any = field(compare=False)  # (session, group_ids) -> iterator of tuples


ID_COLUMNS = (
    Column("participant_code", "string", "Pseudonymous participant code"),
    Column("group_code", "string", "Group (cohort) code"),
)
_BATCH = 2000


def _practice_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    query = (
        select(PracticeLog, Enrolment.participant_code, Group.code, Exercise.key)
        .join(Enrolment, col(Enrolment.id) == PracticeLog.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .outerjoin(Exercise, col(Exercise.id) == PracticeLog.exercise_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code), col(PracticeLog.started_at))
        .execution_options(yield_per=_BATCH)
    )
    for log, participant, group_code, exercise_key in session.exec(query):
        yield (
            participant,
            group_code,
            log.id,
            log.kind.value,
            exercise_key or "",
            log.started_at.isoformat(),
            log.utc_offset_minutes,
            log.timezone,
            log.local_date.isoformat(),
            log.listened_seconds,
            int(log.completed),
            int(log.clock_suspect),
            log.received_at.isoformat(),
        )


def _check_in_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    query = (
        select(CheckIn, Enrolment.participant_code, Group.code)
        .join(Enrolment, col(Enrolment.id) == CheckIn.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code), col(CheckIn.recorded_at))
        .execution_options(yield_per=_BATCH)
    )
    for check_in, participant, group_code in session.exec(query):
        yield (
            participant,
            group_code,
            check_in.id,
            check_in.practice_log_id or "",
            check_in.moment.value,
            check_in.recorded_at.isoformat(),
            check_in.local_date.isoformat(),
            *(
                "" if v is None else v
                for v in (check_in.pain_intensity, check_in.pain_distress, check_in.mood)
            ),
        )


def _attendance_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    query = (
        select(Attendance, Enrolment.participant_code, Group.code, GroupSession)
        .join(Enrolment, col(Enrolment.id) == Attendance.enrolment_id)
        .join(GroupSession, col(GroupSession.id) == Attendance.group_session_id)
        .join(Group, col(Group.id) == GroupSession.group_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code), col(GroupSession.number))
    )
    for attendance, participant, group_code, meeting in session.exec(query):
        yield (
            participant,
            group_code,
            meeting.number,
            meeting.starts_at.date().isoformat(),
            attendance.status.value,
        )


def _score_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    return outcomes_service.score_export_rows(session, group_ids=group_ids)


RATING_COLUMNS = tuple(
    Column(name, "integer", label, allowed=RATING_VALUES, missing="blank")
    for name, label in (
        ("pain_intensity", "Pain intensity right now, 0 = no pain, 10 = worst imaginable"),
        ("pain_distress", "How much the pain bothers/distresses, 0 = not at all, 10 = extremely"),
        ("mood", "Mood, 0 = very low, 10 = very good"),
    )
)

TABLES = (
    Table(
        "practice_logs.csv",
        "One row per act of practice, as recorded on the patient's phone.",
        (
            *ID_COLUMNS,
            Column("log_id", "string", "UUID made on the phone; unique"),
            Column(
                "kind",
                "string",
                "What kind of practice",
                allowed="exercise (with programme audio), own, group, anytime",
            ),
            Column(
                "exercise_key",
                "string",
                "Programme exercise, for kind = exercise",
                missing="blank when not an audio exercise",
            ),
            Column("started_at", "datetime", "When the practice started (ISO 8601, UTC)"),
            Column("utc_offset_minutes", "integer", "The phone's UTC offset then", units="minutes"),
            Column("timezone", "string", "The phone's IANA time zone"),
            Column("local_date", "date", "The patient's calendar day of the practice"),
            Column(
                "listened_seconds",
                "integer",
                "Time listened (or practised, without audio)",
                units="seconds",
            ),
            Column("completed", "boolean", "Practice finished", allowed="1 = yes, 0 = no"),
            Column(
                "clock_suspect",
                "boolean",
                "Phone clock was ahead of the server",
                allowed="1 = yes, 0 = no",
            ),
            Column("received_at", "datetime", "When the server stored it (ISO 8601, UTC)"),
        ),
        _practice_rows,
    ),
    Table(
        "checkins.csv",
        "0-10 ratings: before or after a practice, or on their own.",
        (
            *ID_COLUMNS,
            Column("checkin_id", "string", "UUID; unique"),
            Column(
                "practice_log_id",
                "string",
                "The practice rated",
                missing="blank for standalone ratings",
            ),
            Column(
                "moment",
                "string",
                "When the ratings were given",
                allowed="before, after, standalone",
            ),
            Column("recorded_at", "datetime", "When (ISO 8601, UTC)"),
            Column("local_date", "date", "The patient's calendar day"),
            *RATING_COLUMNS,
        ),
        _check_in_rows,
    ),
    Table(
        "scores.csv",
        "One row per completed questionnaire; a correction replaces what it corrects.",
        (
            *ID_COLUMNS,
            Column("instrument", "string", "Instrument id"),
            Column(
                "timepoint",
                "string",
                "Administration timepoint",
                allowed="baseline, end, follow_up, week_N",
            ),
            Column("score", "number", "Total score"),
            Column("completed_at", "datetime", "When it was completed (ISO 8601, UTC)"),
            Column("instrument_version", "string", "Version of the instrument definition"),
            Column("band", "string", "Severity band of the score", missing="blank: no bands"),
            Column(
                "staff_entered",
                "boolean",
                "Entered by staff from a paper form",
                allowed="1 = yes, 0 = no",
            ),
            Column(
                "is_correction",
                "boolean",
                "Replaces an earlier submission (which is not exported)",
                allowed="1 = yes, 0 = no",
            ),
        ),
        _score_rows,
    ),
    Table(
        "attendance.csv",
        "The register: one row per patient per group session recorded.",
        (
            *ID_COLUMNS,
            Column("session_number", "integer", "Group session (programme week)"),
            Column("session_date", "date", "Date of the session"),
            Column("status", "string", "Attendance", allowed="present, absent, apologies"),
        ),
        _attendance_rows,
    ),
)
