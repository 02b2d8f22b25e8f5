"""The export tables: each column defined once, so the CSV header and the codebook agree.

Row functions take ``(session, group_ids)`` and yield tuples of plain values (str, int,
bool, date, datetime, None) in column order, participant code first. Filtering by date,
pseudonymising and date shifting are applied to every table alike by the export service.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app import clock
from app.exports.fhir import ScoreRecord
from app.groups import service as groups_service
from app.groups.models import Attendance, Enrolment, Group, GroupSession
from app.outcomes import export_rows
from app.outcomes import instruments as instrument_registry
from app.practice import service as practice_service
from app.practice.models import CheckIn, PracticeLog, Reflection
from app.programme import service as programme_service
from app.programme.models import Exercise

RATING_VALUES = "0-10 (0 = none/worst mood ... 10 = worst pain/best mood); blank = not given"
BOOLEAN_VALUES = "1 = yes, 0 = no"
LOINC_PAIN_0_10 = "72514-3"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, integer, number, boolean, date, datetime
    label: str
    allowed: str = ""
    units: str = ""
    missing: str = ""
    derivation: str = ""
    loinc: str = ""
    # Text a person typed (a patient's words, codes staff chose): hostile to spreadsheets.
    typed_by_person: bool = False
    # What a study key replaces this value with: "participant", "group" or "row" (an id).
    pseudonym: str = ""


@dataclass(frozen=True)
class Table:
    file: str
    description: str
    columns: Sequence[Column]
    rows: Any = field(compare=False)  # (session, group_ids) -> iterator of tuples
    # The column a date-range filter applies to (a date or datetime column).
    date_column: str = ""
    # Rows already hold CSV-ready text and integers (dates ISO 8601, booleans 0/1).
    csv_ready: bool = False


ID_COLUMNS = (
    Column(
        "participant_code",
        "string",
        "Pseudonymous participant code",
        derivation="The clinic's participant code, or HMAC-SHA256 of it under the study key "
        "when the export names one (see README.md)",
        typed_by_person=True,
        pseudonym="participant",
    ),
    Column(
        "group_code",
        "string",
        "Group (cohort) code",
        derivation="The clinic's group code, or HMAC-SHA256 of it under the study key when the "
        "export names one",
        typed_by_person=True,
        pseudonym="group",
    ),
)
_BATCH = 2000


def _instant(column: Any, dialect: str) -> Any:
    """An instant as ISO 8601 text with offset, made by SQLite itself (it stores UTC text)."""
    if dialect == "sqlite":
        text = func.replace(func.replace(column, ".000000", ""), " ", "T")
        return sa.type_coerce(text.concat("+00:00"), sa.String())
    return column


def _practice_rows(session: Session, group_ids: Sequence[int]) -> Iterator[Sequence[Any]]:
    # The one table that grows to millions of rows: plain Core rows straight from the driver,
    # already in their CSV form, no ORM objects.
    dialect = session.get_bind().dialect.name
    as_text = sa.String()
    query = (
        sa.select(
            col(Enrolment.participant_code),
            col(Group.code),
            col(PracticeLog.id),
            sa.type_coerce(col(PracticeLog.kind), as_text),
            col(Exercise.key),
            _instant(col(PracticeLog.started_at), dialect),
            col(PracticeLog.utc_offset_minutes),
            col(PracticeLog.timezone),
            sa.cast(col(PracticeLog.local_date), as_text),
            col(PracticeLog.listened_seconds),
            sa.cast(col(PracticeLog.completed), sa.Integer()),
            sa.cast(col(PracticeLog.clock_suspect), sa.Integer()),
            _instant(col(PracticeLog.received_at), dialect),
        )
        .join(Enrolment, col(Enrolment.id) == PracticeLog.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .outerjoin(Exercise, col(Exercise.id) == PracticeLog.exercise_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code), col(PracticeLog.started_at))
    )
    # Streaming is set on the statement, not the connection: later statements must not stream.
    result = session.connection().execute(query.execution_options(yield_per=_BATCH))
    if dialect == "sqlite":
        yield from result
        return
    for row in result:
        yield (*row[:5], utc_text(row[5]), *row[6:12], utc_text(row[12]))


def utc_text(value: Any) -> Any:
    """An instant as ISO 8601 with offset, from either engine's raw value (fast path)."""
    if isinstance(value, str):  # SQLite: naive UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]"
        if value.endswith(".000000"):
            value = value[:-7]
        return value.replace(" ", "T", 1) + "+00:00"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _check_in_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    query = (
        sa.select(
            col(Enrolment.participant_code),
            col(Group.code),
            col(CheckIn.id),
            col(CheckIn.practice_log_id),
            col(CheckIn.moment),
            col(CheckIn.recorded_at),
            col(CheckIn.local_date),
            col(CheckIn.pain_intensity),
            col(CheckIn.pain_distress),
            col(CheckIn.mood),
        )
        .join(Enrolment, col(Enrolment.id) == CheckIn.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code), col(CheckIn.recorded_at))
        .execution_options(yield_per=_BATCH)
    )
    for row in session.execute(query):
        moment = row[4]
        yield (*row[:4], getattr(moment, "value", moment), *row[5:])


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
            meeting.starts_at.date(),
            attendance.status.value,
        )


def _adherence_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """One row per participant per programme week that has begun, by the programme's rule."""
    today = clock.now().date()
    groups = session.exec(
        select(Group).where(col(Group.id).in_(group_ids)).order_by(col(Group.code))
    ).all()
    for group in groups:
        programme = programme_service.get_programme(session, group.programme_id)
        rule = programme_service.adherence_rule(session, programme, clinic_id=group.clinic_id)
        people = sorted(
            groups_service.enrolments(session, group=group), key=lambda e: e.participant_code
        )
        seconds: dict[int, dict[date, int]] = defaultdict(dict)
        for enrolment_id, day, total in session.execute(
            sa.select(
                col(PracticeLog.enrolment_id),
                col(PracticeLog.local_date),
                func.sum(col(PracticeLog.listened_seconds)),
            )
            .join(Enrolment, col(Enrolment.id) == PracticeLog.enrolment_id)
            .where(col(Enrolment.group_id) == group.id)
            .group_by(col(PracticeLog.enrolment_id), col(PracticeLog.local_date))
        ).all():
            seconds[enrolment_id][day] = int(total or 0)
        bad_days = practice_service.bad_days(session, enrolment_ids=[e.id or 0 for e in people])
        weeks = [
            n
            for n in range(1, rule.total_weeks + 1)
            if groups_service.week_start(group, n) <= today
        ]
        for enrolment in people:
            by_day = seconds.get(enrolment.id or 0, {})
            practice_days = rule.practice_days(
                {d: s / 60 for d, s in by_day.items()}, bad_days.get(enrolment.id or 0, set())
            )
            summary = []
            for number in weeks:
                first = groups_service.week_start(group, number)
                days = [first + timedelta(days=i) for i in range(groups_service.DAYS_PER_WEEK)]
                n_days = sum(1 for d in days if d in practice_days)
                minutes = round(sum(by_day.get(d, 0) for d in days) / 60)
                summary.append((number, first, n_days, minutes, rule.week_met(n_days)))
            completer = rule.is_completer(met for *_, met in summary)
            for number, first, n_days, minutes, met in summary:
                yield (
                    enrolment.participant_code,
                    group.code,
                    number,
                    first,
                    n_days,
                    minutes,
                    met,
                    completer,
                )


def _reflection_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    query = (
        select(Reflection, Enrolment.participant_code, Group.code)
        .join(Enrolment, col(Enrolment.id) == Reflection.enrolment_id)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code), col(Reflection.created_at))
        .execution_options(yield_per=_BATCH)
    )
    for reflection, participant, group_code in session.exec(query):
        yield (
            participant,
            group_code,
            reflection.id,
            reflection.kind.value,
            reflection.week_number,
            reflection.share_with_group,
            reflection.created_at,
            reflection.text,
        )


def _score_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    return export_rows.score_export_rows(session, group_ids=group_ids)


def _item_rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    return export_rows.item_export_rows(session, group_ids=group_ids)


RATING_COLUMNS = (
    Column(
        "pain_intensity",
        "integer",
        "Pain intensity right now, 0 = no pain, 10 = worst imaginable",
        allowed="0-10",
        units="score",
        missing="blank = not given",
        loinc=LOINC_PAIN_0_10,
    ),
    Column(
        "pain_distress",
        "integer",
        "How much the pain bothers/distresses, 0 = not at all, 10 = extremely",
        allowed="0-10",
        units="score",
        missing="blank = not given",
    ),
    Column(
        "mood",
        "integer",
        "Mood, 0 = very low, 10 = very good",
        allowed="0-10",
        units="score",
        missing="blank = not given",
    ),
)

# The columns that name an administration: scores.csv and item_responses.csv share them, so
# the two join on ADMINISTRATION_KEY (one current administration per key).
INSTRUMENT = Column("instrument", "string", "Instrument id", allowed="e.g. phq9, gad7, pseq")
TIMEPOINT = Column(
    "timepoint",
    "string",
    "Administration timepoint",
    allowed="baseline, end, follow_up, week_N",
)
COMPLETED_AT = Column("completed_at", "datetime", "When it was completed (ISO 8601, UTC)")
INSTRUMENT_VERSION = Column("instrument_version", "string", "Version of the instrument definition")
ADMINISTRATION_KEY = ("participant_code", "group_code", "instrument", "timepoint")
STAFF_TOTALS = (
    "A questionnaire staff entered as a total from a paper form (e.g. the PSEQ) has no item "
    "answers, so no rows here: its score is in scores.csv (staff_entered = 1)."
)

TABLES = (
    Table(
        "practice_logs.csv",
        "One row per act of practice, as recorded on the patient's phone.",
        (
            *ID_COLUMNS,
            Column("log_id", "string", "UUID made on the phone; unique", pseudonym="row"),
            Column(
                "kind",
                "string",
                "What kind of practice",
                allowed="exercise, own, group, anytime",
                derivation="exercise = with programme audio; own = on one's own; group = in the "
                "group session; anytime = a short practice in the day or during a flare",
            ),
            Column(
                "exercise_key",
                "string",
                "Programme exercise, for kind = exercise",
                missing="blank when not an audio exercise",
            ),
            Column(
                "started_at",
                "datetime",
                "When the practice started (ISO 8601, UTC)",
                derivation="The phone's clock at the start, stored in UTC",
            ),
            Column("utc_offset_minutes", "integer", "The phone's UTC offset then", units="minutes"),
            Column("timezone", "string", "The phone's IANA time zone"),
            Column("local_date", "date", "The patient's calendar day of the practice"),
            Column(
                "listened_seconds",
                "integer",
                "Time listened (or practised, without audio)",
                units="seconds",
            ),
            Column("completed", "boolean", "Practice finished", allowed=BOOLEAN_VALUES),
            Column(
                "clock_suspect",
                "boolean",
                "Phone clock was ahead of the server",
                allowed=BOOLEAN_VALUES,
                derivation="1 when started_at was well after received_at",
            ),
            Column("received_at", "datetime", "When the server stored it (ISO 8601, UTC)"),
        ),
        _practice_rows,
        date_column="local_date",
        csv_ready=True,
    ),
    Table(
        "checkins.csv",
        "0-10 ratings: before or after a practice, or on their own.",
        (
            *ID_COLUMNS,
            Column("checkin_id", "string", "UUID; unique", pseudonym="row"),
            Column(
                "practice_log_id",
                "string",
                "The practice rated (its log_id)",
                missing="blank for standalone ratings",
                pseudonym="row",
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
        date_column="local_date",
    ),
    Table(
        "scores.csv",
        "One row per completed questionnaire; a correction replaces what it corrects.",
        (
            *ID_COLUMNS,
            INSTRUMENT,
            TIMEPOINT,
            Column(
                "score",
                "number",
                "Total score",
                units="score",
                derivation="Scored by the instrument's rules (docs/instruments.md)",
                loinc="PHQ-9 total 44261-6; GAD-7 total 70274-6; others none",
            ),
            COMPLETED_AT,
            INSTRUMENT_VERSION,
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
            Column(
                "prorated",
                "boolean",
                "Total prorated: unanswered items were filled by the mean of the answered ones "
                "(PHQ-9: up to two, never item 9); FHIR marks it with the extension "
                "urn:tend:extension:prorated",
                allowed="1 = yes, 0 = no",
                derivation="Arrieta et al. 2017 (docs/instruments.md)",
            ),
        ),
        _score_rows,
        date_column="completed_at",
    ),
    Table(
        "item_responses.csv",
        "One row per answer to one item of each questionnaire in scores.csv; joins it on "
        f"{', '.join(ADMINISTRATION_KEY)}. {STAFF_TOTALS}",
        (
            *ID_COLUMNS,
            INSTRUMENT,
            INSTRUMENT_VERSION,
            TIMEPOINT,
            COMPLETED_AT,
            Column(
                "item",
                "string",
                "The item's id in the instrument definition",
                allowed="e.g. q1-q9 (phq9), q1-q7 (gad7)",
                derivation=f"Only answered items: an item left blank has no row. {STAFF_TOTALS}",
            ),
            Column(
                "item_number",
                "integer",
                "Position of the item in the questionnaire",
                allowed="1 to the instrument's items",
                missing="blank: the item is not in the current instrument definition",
            ),
            Column(
                "value",
                "integer",
                "The answer, as given",
                allowed="The item's options or range in the instrument definition",
                units="score",
                derivation="Before any reverse scoring. Whole numbers only: no instrument has "
                "free-text items",
                loinc="per item: see item_loinc",
            ),
            Column(
                "item_loinc",
                "string",
                "LOINC code of the item",
                allowed="e.g. PHQ-9 item 1 44250-9, GAD-7 item 1 69725-0",
                missing="blank: the item has no LOINC code (or none is recorded)",
            ),
        ),
        _item_rows,
        date_column="completed_at",
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
        date_column="session_date",
    ),
    Table(
        "adherence_weekly.csv",
        "One row per participant per programme week that has begun, by the adherence rule.",
        (
            *ID_COLUMNS,
            Column("week", "integer", "Programme week", allowed="1 to the programme's weeks"),
            Column("week_start", "date", "First day of the programme week"),
            Column(
                "practice_days",
                "integer",
                "Practice days in the week",
                allowed="0-7",
                units="days",
                derivation="Days (patient's local date) whose practice adds up to at least the "
                "rule's minutes per day",
            ),
            Column(
                "minutes",
                "integer",
                "Minutes of practice in the week",
                units="minutes",
                derivation="Sum of listened_seconds over the week / 60, rounded",
            ),
            Column(
                "met_target",
                "boolean",
                "The week met the adherence target",
                allowed=BOOLEAN_VALUES,
                derivation="practice_days >= the rule's days per week",
            ),
            Column(
                "completer",
                "boolean",
                "The participant is a completer",
                allowed=BOOLEAN_VALUES,
                derivation="Weeks meeting the target >= the rule's completer weeks (over the "
                "weeks begun so far while the programme runs)",
            ),
        ),
        _adherence_rows,
        date_column="week_start",
    ),
)

# Free text: only when explicitly asked for, and only for clinicians and admins.
REFLECTIONS = Table(
    "reflections.csv",
    "Patients' own words (weekly and end-of-programme reflections). Free text: may identify.",
    (
        *ID_COLUMNS,
        Column("reflection_id", "string", "UUID; unique", pseudonym="row"),
        Column("kind", "string", "Which reflection", allowed="weekly, end_of_programme"),
        Column("week_number", "integer", "Programme week", missing="blank for end of programme"),
        Column("shared", "boolean", "Shared with the group", allowed=BOOLEAN_VALUES),
        Column("created_at", "datetime", "When written (ISO 8601, UTC)"),
        Column("text", "string", "The reflection, as written (free text)", typed_by_person=True),
    ),
    _reflection_rows,
    date_column="created_at",
)


def score_records(session: Session, group_ids: Sequence[int]) -> Iterator[ScoreRecord]:
    """The questionnaire administrations for the FHIR export, with real participant codes and
    UTC times (the export service pseudonymises and shifts them)."""
    for administration, participant, group in export_rows.exported_administrations(
        session, group_ids=group_ids
    ):
        if administration.score_total is None or administration.submitted_at is None:
            continue
        instrument = instrument_registry.get_instrument(administration.instrument_id)
        items = tuple(
            (answer.item_id, float(answer.value))
            for answer in export_rows.answered_items(administration)
        )
        yield ScoreRecord(
            administration_id=str(administration.id),
            participant_code=participant,
            instrument=administration.instrument_id,
            timepoint=administration.timepoint,
            total=administration.score_total,
            completed_at=administration.submitted_at,
            items=items,
            instrument_title=instrument.title,
            loinc_panel=instrument.loinc.panel,
            loinc_total=instrument.loinc.total,
            prorated=administration.prorated,
            group_code=group,
        )
