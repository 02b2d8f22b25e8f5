"""Recording practice and check-ins exactly once, and reading them back."""

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Row, RowMapping, Table, bindparam, case, insert, literal, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from app.db import insert_unless_present, utcnow
from app.errors import InvalidInput, NotFound
from app.groups.models import Enrolment, Group
from app.i18n import N_
from app.practice.models import (
    CheckIn,
    CheckInMoment,
    PracticeKind,
    PracticeLog,
    Reflection,
    ReflectionKind,
)
from app.practice.schemas import (
    CheckInCreate,
    CheckInRead,
    PracticeLogCreate,
    PracticeLogRead,
    Ratings,
    ReflectionRead,
    ReflectionWrite,
)
from app.programme import service as programme_service
from app.programme.models import Exercise, PracticeRole, WeekPractice

# A phone clock this far ahead of the server is wrong; the log is kept and flagged.
CLOCK_TOLERANCE = timedelta(minutes=10)
_RATING_FIELDS = ("pain_intensity", "pain_distress", "mood")
_LOGS: Table = PracticeLog.__table__  # type: ignore[attr-defined]
_CHECK_INS: Table = CheckIn.__table__  # type: ignore[attr-defined]
LogRow = Mapping[Any, Any]  # a practice_log row by column name
_LOG_BY_ID = sql_select(_LOGS).where(_LOGS.c.id == bindparam("id"))
_EXERCISES: Table = Exercise.__table__  # type: ignore[attr-defined]
# One statement for both ways a practice log arrives: the log already stored under this id
# (a replay; all its columns NULL otherwise), beside the title of the exercise the log names
# if the patient's programme has it (NULL otherwise). Built once: composing it costs more
# than running it.
_STORED_AND_TITLE = sql_select(
    *_LOGS.c,
    sql_select(_EXERCISES.c.title)
    .where(
        _EXERCISES.c.id == bindparam("exercise_id"),
        _EXERCISES.c.programme_id == bindparam("programme_id"),
    )
    .scalar_subquery()
    .label("exercise_title"),
).select_from(
    sql_select(literal(1)).subquery("one").outerjoin(_LOGS, _LOGS.c.id == bindparam("id"))
)


def _body_sha256(payload: BaseModel) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_local_date(started_at_local_date: date, local_date: date, field: str) -> None:
    if started_at_local_date != local_date:
        raise InvalidInput(
            f"{field} must be the date of the practice in its time zone "
            f"({started_at_local_date.isoformat()}), not {local_date.isoformat()}",
            field=field,
        )


def _ratings_id(log_id: uuid.UUID, moment: CheckInMoment) -> str:
    # Ratings given with a practice get ids derived from it, so a replay cannot duplicate them.
    return str(uuid.uuid5(log_id, moment.value))


def record_practice(
    session: Session, *, enrolment: Enrolment, programme_id: int, payload: PracticeLogCreate
) -> tuple[PracticeLogRead, bool]:
    """Store a practice log once; returns the stored log and whether this call created it.

    The busiest write in Tend, so it works on table rows rather than ORM objects, checks
    what needs no database first (on SQLite the first statement takes the write lock) and
    answers from what it stored instead of reading it back.
    """
    digest = _body_sha256(payload)
    zone = ZoneInfo(payload.timezone)
    _check_local_date(payload.started_at.astimezone(zone).date(), payload.local_date, "local_date")
    end_of_practice = payload.started_at + timedelta(seconds=payload.listened_seconds)
    ratings = {
        CheckInMoment.before: (payload.ratings_before, payload.started_at),
        CheckInMoment.after: (payload.ratings_after, end_of_practice),
    }
    ratings_given = {moment: given for moment, (given, _) in ratings.items()}
    found = (
        session.execute(
            _STORED_AND_TITLE,
            {
                "id": str(payload.id),
                "exercise_id": payload.exercise_id,
                "programme_id": programme_id,
            },
        )
        .mappings()
        .one()
    )
    if found["id"] is not None:
        # A replay: the phone did not hear our answer.
        return _replayed(found, enrolment=enrolment, digest=digest, ratings=ratings_given), False
    exercise_title = found["exercise_title"]
    if payload.exercise_id is not None and exercise_title is None:
        raise InvalidInput(N_("No such exercise in your programme."), field="exercise_id")
    now = utcnow()
    offset = payload.started_at.utcoffset() or timedelta(0)
    log = {
        "id": str(payload.id),
        "enrolment_id": enrolment.id,
        "exercise_id": payload.exercise_id,
        "kind": PracticeKind(payload.kind) if payload.kind else PracticeKind.exercise,
        "started_at": payload.started_at,
        "utc_offset_minutes": int(offset.total_seconds() // 60),
        "timezone": payload.timezone,
        "local_date": payload.local_date,
        "listened_seconds": payload.listened_seconds,
        "completed": payload.completed,
        "received_at": now,
        "clock_suspect": payload.started_at > now + CLOCK_TOLERANCE,
        "request_sha256": digest,
    }
    check_ins = [
        _check_in_row(log, moment, given, at, received_at=now)
        for moment, (given, at) in ratings.items()
        if given is not None
    ]
    if not insert_unless_present(session, _LOGS, log):
        # A twin request stored the same id between our read and our insert.
        stored = {**_stored_log(session, payload.id), "exercise_title": exercise_title}
        return _replayed(stored, enrolment=enrolment, digest=digest, ratings=ratings_given), False
    if check_ins:
        session.execute(insert(_CHECK_INS), check_ins)
    return _log_view(log, ratings_given, exercise_title), True


def _stored_log(session: Session, log_id: uuid.UUID) -> RowMapping:
    return session.execute(_LOG_BY_ID, {"id": str(log_id)}).mappings().one()


def _check_in_row(
    log: Mapping[str, Any],
    moment: CheckInMoment,
    given: Ratings,
    at: datetime,
    *,
    received_at: datetime,
) -> dict[str, Any]:
    return {
        "id": _ratings_id(uuid.UUID(log["id"]), moment),
        "enrolment_id": log["enrolment_id"],
        "practice_log_id": log["id"],
        "moment": moment,
        "recorded_at": at,
        "local_date": log["local_date"],
        "received_at": received_at,
        **given.model_dump(),
    }


def _replayed(
    stored: LogRow,
    *,
    enrolment: Enrolment,
    digest: str,
    ratings: dict[CheckInMoment, Ratings | None],
) -> PracticeLogRead:
    if stored["enrolment_id"] != enrolment.id or stored["request_sha256"] != digest:
        raise InvalidInput(
            "A practice log with this id was already stored with different details. "
            "Make a new id for a new practice.",
            field="id",
        )
    # The same body, so the same ratings as were stored with it: answered without reading them.
    return _log_view(stored, ratings, stored["exercise_title"])


def _read_logs(session: Session, logs: Sequence[LogRow]) -> list[PracticeLogRead]:
    ids = [log["id"] for log in logs]
    check_ins = (
        session.execute(sql_select(_CHECK_INS).where(_CHECK_INS.c.practice_log_id.in_(ids))).all()
        if ids
        else []
    )
    ratings: dict[str, dict[CheckInMoment, Ratings | None]] = {log_id: {} for log_id in ids}
    for check_in in check_ins:
        ratings[check_in.practice_log_id][check_in.moment] = _ratings_of(check_in)
    titles = programme_service.exercise_titles(
        session, [log["exercise_id"] for log in logs if log["exercise_id"] is not None]
    )
    return [_log_view(log, ratings[log["id"]], titles.get(log["exercise_id"])) for log in logs]


def _log_view(
    log: LogRow,
    ratings: dict[CheckInMoment, Ratings | None],
    exercise_title: str | None,
) -> PracticeLogRead:
    return PracticeLogRead(
        id=uuid.UUID(log["id"]),
        exercise_id=log["exercise_id"],
        exercise_title=exercise_title,
        kind=log["kind"].value,
        started_at=log["started_at"].astimezone(ZoneInfo(log["timezone"])),
        timezone=log["timezone"],
        local_date=log["local_date"],
        listened_seconds=log["listened_seconds"],
        completed=log["completed"],
        ratings_before=ratings.get(CheckInMoment.before),
        ratings_after=ratings.get(CheckInMoment.after),
        received_at=log["received_at"],
        clock_suspect=log["clock_suspect"],
    )


def _ratings_of(check_in: CheckIn | Row[Any]) -> Ratings:
    return Ratings(**{name: getattr(check_in, name) for name in _RATING_FIELDS})


def list_practice_logs(
    session: Session, *, enrolment: Enrolment, limit: int | None = None
) -> list[PracticeLogRead]:
    """The patient's own logs, newest first (the latest ``limit`` of them if given)."""
    logs = (
        session.execute(
            sql_select(_LOGS)
            .where(_LOGS.c.enrolment_id == enrolment.id)
            .order_by(_LOGS.c.started_at.desc())
            .limit(limit)
        )
        .mappings()
        .all()
    )
    return _read_logs(session, logs)


def record_check_in(
    session: Session, *, enrolment: Enrolment, payload: CheckInCreate
) -> tuple[CheckInRead, bool]:
    """Store standalone ratings once; returns them and whether this call created them."""
    existing = session.get(CheckIn, str(payload.id))
    read = CheckInRead(
        id=payload.id,
        recorded_at=payload.recorded_at,
        local_date=payload.local_date,
        ratings=payload.ratings,
    )
    if existing is not None:
        if (
            existing.enrolment_id != enrolment.id
            or _ratings_of(existing) != payload.ratings
            or (existing.local_date != payload.local_date)
        ):
            raise InvalidInput(
                "Ratings with this id were already stored with different values.", field="id"
            )
        return CheckInRead(
            id=payload.id,
            recorded_at=existing.recorded_at,
            local_date=existing.local_date,
            ratings=_ratings_of(existing),
        ), False
    zone = ZoneInfo(payload.timezone)
    _check_local_date(payload.recorded_at.astimezone(zone).date(), payload.local_date, "local_date")
    session.add(
        CheckIn(
            id=str(payload.id),
            enrolment_id=enrolment.id or 0,
            moment=CheckInMoment.standalone,
            recorded_at=payload.recorded_at,
            local_date=payload.local_date,
            **payload.ratings.model_dump(),
        )
    )
    session.flush()
    return read, True


UNDO_WITHIN = timedelta(hours=1)


def undo_practice(session: Session, *, enrolment: Enrolment, log_id: uuid.UUID) -> None:
    """Delete the patient's own practice log (and its ratings) just noted by mistake: "Undo".

    Safe to send again (an outbox may): a log that is not there (never sent, or undone
    already) changes nothing; another patient's is not found. Only a log received within
    ``UNDO_WITHIN`` can be undone, so a stray request cannot empty someone's history."""
    log = session.get(PracticeLog, str(log_id))
    if log is None:
        return
    if log.enrolment_id != enrolment.id:
        raise NotFound(N_("No such practice."))
    if utcnow() - log.received_at > UNDO_WITHIN:
        raise InvalidInput(
            N_("This practice was noted over an hour ago, so it can no longer be undone."),
            field="log_id",
        )
    for check_in in session.exec(select(CheckIn).where(CheckIn.practice_log_id == log.id)).all():
        session.delete(check_in)
    session.delete(log)
    session.flush()


def minutes_by_day(session: Session, *, enrolment: Enrolment) -> dict[date, float]:
    """Minutes of practice per local day, for the patient's own progress."""
    rows = session.exec(
        select(col(PracticeLog.local_date), func.sum(PracticeLog.listened_seconds))
        .where(PracticeLog.enrolment_id == enrolment.id)
        .group_by(col(PracticeLog.local_date))
    ).all()
    return {day: int(seconds or 0) / 60 for day, seconds in rows}


@dataclass(frozen=True)
class DayRatings:
    """One check-in's ratings on its local day (any may be missing)."""

    local_date: date
    pain_intensity: int | None
    pain_distress: int | None
    mood: int | None


def ratings_by_day(session: Session, *, enrolment: Enrolment) -> list[DayRatings]:
    """Every rating the patient gave (with a practice or on its own), oldest first."""
    rows = session.exec(
        select(CheckIn)
        .where(CheckIn.enrolment_id == enrolment.id)
        .order_by(col(CheckIn.recorded_at))
    ).all()
    return [DayRatings(c.local_date, c.pain_intensity, c.pain_distress, c.mood) for c in rows]


@dataclass(frozen=True)
class RatedPractice:
    """A practice with ratings before and after it, labelled by exercise or kind."""

    label_exercise_id: int | None
    label: str
    before: Ratings
    after: Ratings


def rated_practices(session: Session, *, enrolment: Enrolment) -> list[RatedPractice]:
    """The patient's practices that have both before- and after-ratings."""
    return [
        RatedPractice(
            log.exercise_id, log.exercise_title or log.kind, log.ratings_before, log.ratings_after
        )
        for log in list_practice_logs(session, enrolment=enrolment)
        if log.ratings_before is not None and log.ratings_after is not None
    ]


def _read_reflection(reflection: Reflection) -> ReflectionRead:
    return ReflectionRead(
        id=uuid.UUID(reflection.id),
        kind=reflection.kind.value,
        week_number=reflection.week_number,
        text=reflection.text,
        share_with_group=reflection.share_with_group,
        share_name=reflection.share_name,
        created_at=reflection.created_at,
        updated_at=reflection.updated_at,
    )


def save_reflection(
    session: Session,
    *,
    enrolment: Enrolment,
    reflection_id: uuid.UUID,
    payload: ReflectionWrite,
    weeks_in_programme: int,
) -> tuple[ReflectionRead, bool]:
    """Create or update one of the patient's reflections; returns it and whether it is new.

    The id is made on the phone, so a reflection sent twice from the outbox is stored once,
    and an edit sent later replaces the earlier words.
    """
    if payload.week_number is not None and payload.week_number > weeks_in_programme:
        raise InvalidInput(
            f"week_number must be between 1 and {weeks_in_programme}", field="week_number"
        )
    existing = session.get(Reflection, str(reflection_id))
    if existing is not None and existing.enrolment_id != enrolment.id:
        # Another patient's reflection: refused like any object that is not theirs (404), so
        # an id does not confirm that someone else wrote something.
        raise NotFound(N_("No reflection of yours with this id."))
    fields: dict[str, Any] = {
        "kind": ReflectionKind(payload.kind),
        "week_number": payload.week_number,
        "text": payload.text,
        "share_with_group": payload.share_with_group,
        "share_name": payload.share_name,
    }
    if existing is None:
        reflection = Reflection(id=str(reflection_id), enrolment_id=enrolment.id or 0, **fields)
        session.add(reflection)
        session.flush()
        return _read_reflection(reflection), True
    changed = any(getattr(existing, name) != value for name, value in fields.items())
    if changed:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.updated_at = utcnow()
        session.add(existing)
        session.flush()
    return _read_reflection(existing), False


def list_reflections(session: Session, *, enrolment: Enrolment) -> list[ReflectionRead]:
    """The patient's own reflections, newest first."""
    rows = session.exec(
        select(Reflection)
        .where(Reflection.enrolment_id == enrolment.id)
        .order_by(col(Reflection.updated_at).desc())
    ).all()
    return [_read_reflection(r) for r in rows]


# --- Reading practice for staff views (engagement board, session prep, patient detail) ---


def daily_minutes(
    session: Session, *, enrolment_ids: Sequence[int], first: date, last: date
) -> dict[int, dict[date, float]]:
    """Minutes practised per enrolment and local day, between two dates (inclusive)."""
    if not enrolment_ids:
        return {}
    rows = session.exec(
        select(
            col(PracticeLog.enrolment_id),
            col(PracticeLog.local_date),
            func.sum(PracticeLog.listened_seconds),
        )
        .where(col(PracticeLog.enrolment_id).in_(enrolment_ids))
        .where(col(PracticeLog.local_date) >= first, col(PracticeLog.local_date) <= last)
        .group_by(col(PracticeLog.enrolment_id), col(PracticeLog.local_date))
    ).all()
    minutes: dict[int, dict[date, float]] = {enrolment_id: {} for enrolment_id in enrolment_ids}
    for enrolment_id, day, seconds in rows:
        minutes[enrolment_id][day] = int(seconds or 0) / 60
    return minutes


def _is_bad_day_practice() -> Any:
    # A bad-day practice: the one-tap "bad day" log, or an exercise a week offers for a flare.
    flare_exercises = select(col(WeekPractice.exercise_id)).where(
        WeekPractice.role == PracticeRole.flare
    )
    return or_(
        col(PracticeLog.kind) == PracticeKind.anytime,
        col(PracticeLog.exercise_id).in_(flare_exercises),
    )


def bad_days(
    session: Session,
    *,
    enrolment_ids: Sequence[int],
    first: date | None = None,
    last: date | None = None,
) -> dict[int, set[date]]:
    """Per enrolment, the local days with a bad-day practice (between two dates, inclusive),
    which the adherence rule may count as practice days whatever their length."""
    if not enrolment_ids:
        return {}
    query = (
        select(col(PracticeLog.enrolment_id), col(PracticeLog.local_date))
        .where(col(PracticeLog.enrolment_id).in_(enrolment_ids), _is_bad_day_practice())
        .distinct()
    )
    if first is not None:
        query = query.where(col(PracticeLog.local_date) >= first)
    if last is not None:
        query = query.where(col(PracticeLog.local_date) <= last)
    days: dict[int, set[date]] = {enrolment_id: set() for enrolment_id in enrolment_ids}
    for enrolment_id, day in session.exec(query).all():
        days[enrolment_id].add(day)
    return days


class PracticeTotals(NamedTuple):
    """One patient's practice over their group's programme weeks."""

    practice_days: int
    seconds: int


def _days_after(session: Session, start: Any, days: int) -> Any:
    # Date arithmetic is the one thing the two engines spell differently.
    if session.get_bind().dialect.name == "sqlite":
        return func.date(start, f"+{days} days")
    return start + days


def practice_totals(
    session: Session,
    *,
    group_ids: Sequence[int],
    weeks: int,
    practice_day_minutes: int,
    bad_day_counts: bool = False,
) -> dict[int, PracticeTotals]:
    """Per enrolment of these groups (those who practised): the days in the group's first
    ``weeks`` weeks with at least ``practice_day_minutes`` minutes of practice, or with a
    bad-day practice when ``bad_day_counts`` (the adherence rule's practice days), and all the
    seconds practised in those weeks. The database adds it up, so a clinic of 10,000
    patients sends back 10,000 rows, not every log."""
    if not group_ids:
        return {}
    weeks_of = (
        select(
            col(Enrolment.id).label("enrolment_id"),
            col(Group.start_date).label("first_day"),
            _days_after(session, col(Group.start_date), weeks * 7 - 1).label("last_day"),
        )
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
        .subquery()
    )
    # Per patient, not one grouping of the whole clinic's logs: each patient's logs in their
    # weeks are one range of the (enrolment_id, local_date, listened_seconds) index, read in
    # day order, so both engines add them up without sorting or hashing 300,000 rows.
    logs_in_weeks = (
        col(PracticeLog.enrolment_id) == weeks_of.c.enrolment_id,
        col(PracticeLog.local_date).between(weeks_of.c.first_day, weeks_of.c.last_day),
    )
    enough_minutes = func.sum(PracticeLog.listened_seconds) >= practice_day_minutes * 60
    counts_as_practice_day = (
        or_(enough_minutes, func.max(case((_is_bad_day_practice(), 1), else_=0)) == 1)
        if bad_day_counts
        else enough_minutes
    )
    practice_days = (
        select(col(PracticeLog.local_date))
        .where(*logs_in_weeks)
        .group_by(col(PracticeLog.local_date))
        .having(counts_as_practice_day)
        .correlate(weeks_of)  # a derived table is not correlated unless asked
        .subquery()
    )
    rows = session.exec(
        select(
            weeks_of.c.enrolment_id,
            select(func.count()).select_from(practice_days).scalar_subquery(),
            select(func.sum(PracticeLog.listened_seconds)).where(*logs_in_weeks).scalar_subquery(),
        )
    ).all()
    return {
        enrolment_id: PracticeTotals(days, int(seconds))
        for enrolment_id, days, seconds in rows
        if seconds is not None
    }


class RatingRow(NamedTuple):
    """One check-in's ratings, as staff views read them."""

    enrolment_id: int
    local_date: date
    moment: CheckInMoment
    pain_intensity: int | None
    pain_distress: int | None
    mood: int | None


def ratings_between(
    session: Session, *, enrolment_ids: Sequence[int], first: date, last: date
) -> list[RatingRow]:
    """Every check-in (before, after or on its own) of these enrolments in a date range."""
    if not enrolment_ids:
        return []
    # Plain rows, not ORM objects: staff views read thousands of ratings at once.
    columns = [
        col(CheckIn.enrolment_id),
        col(CheckIn.local_date),
        col(CheckIn.moment),
        col(CheckIn.pain_intensity),
        col(CheckIn.pain_distress),
        col(CheckIn.mood),
    ]
    query = (
        sql_select(*columns)
        .where(col(CheckIn.enrolment_id).in_(enrolment_ids))
        .where(col(CheckIn.local_date) >= first, col(CheckIn.local_date) <= last)
    )
    return [RatingRow(*row) for row in session.execute(query).all()]


def last_activity(session: Session, *, enrolment_ids: Sequence[int]) -> dict[int, date]:
    """Each enrolment's latest local day with a practice or a check-in."""
    if not enrolment_ids:
        return {}
    latest: dict[int, date] = {}
    for model in (PracticeLog, CheckIn):
        rows = session.exec(
            select(model.enrolment_id, func.max(model.local_date))
            .where(col(model.enrolment_id).in_(enrolment_ids))
            .group_by(col(model.enrolment_id))
        ).all()
        for enrolment_id, day in rows:
            if day is not None and (enrolment_id not in latest or day > latest[enrolment_id]):
                latest[enrolment_id] = day
    return latest


@dataclass(frozen=True)
class RatingChange:
    """Before and after ratings of one practice with an exercise."""

    exercise_id: int
    exercise_title: str
    before: Ratings
    after: Ratings


def rating_changes(
    session: Session, *, enrolment_ids: Sequence[int], first: date, last: date
) -> list[RatingChange]:
    """Practices with an exercise rated both before and after, between two dates."""
    if not enrolment_ids:
        return []
    logs = session.exec(
        select(PracticeLog)
        .where(col(PracticeLog.enrolment_id).in_(enrolment_ids))
        .where(col(PracticeLog.exercise_id).is_not(None))
        .where(col(PracticeLog.local_date) >= first, col(PracticeLog.local_date) <= last)
    ).all()
    by_log = {log.id: log for log in logs}
    check_ins = (
        session.exec(select(CheckIn).where(col(CheckIn.practice_log_id).in_(list(by_log)))).all()
        if by_log
        else []
    )
    pairs: dict[str, dict[CheckInMoment, CheckIn]] = {}
    for check_in in check_ins:
        pairs.setdefault(check_in.practice_log_id or "", {})[check_in.moment] = check_in
    exercises = programme_service.exercises_by_id(
        session, sorted({log.exercise_id for log in logs if log.exercise_id is not None})
    )
    changes = []
    for log_id, moments in pairs.items():
        log = by_log[log_id]
        if CheckInMoment.before not in moments or CheckInMoment.after not in moments:
            continue
        exercise = exercises.get(log.exercise_id or 0)
        if exercise is None:
            continue
        changes.append(
            RatingChange(
                exercise_id=exercise.id or 0,
                exercise_title=exercise.title,
                before=_ratings_of(moments[CheckInMoment.before]),
                after=_ratings_of(moments[CheckInMoment.after]),
            )
        )
    return changes


def shared_reflections(
    session: Session, *, enrolment_ids: Sequence[int], first: date, last: date
) -> list[Reflection]:
    """Weekly reflections patients chose to share with their group, written in a date range."""
    if not enrolment_ids:
        return []
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return list(
        session.exec(
            select(Reflection)
            .where(col(Reflection.enrolment_id).in_(enrolment_ids))
            .where(col(Reflection.share_with_group).is_(True))
            .where(col(Reflection.created_at) >= start, col(Reflection.created_at) < end)
            .order_by(col(Reflection.created_at))
        ).all()
    )


def reflections_for_coding(session: Session, *, enrolment_ids: Sequence[int]) -> list[Reflection]:
    """End-of-programme comments, and weekly reflections shared with the group, oldest first."""
    if not enrolment_ids:
        return []
    return list(
        session.exec(
            select(Reflection)
            .where(col(Reflection.enrolment_id).in_(enrolment_ids))
            .where(
                (col(Reflection.kind) == ReflectionKind.end_of_programme)
                | col(Reflection.share_with_group).is_(True)
            )
            .order_by(col(Reflection.kind), col(Reflection.created_at))
        ).all()
    )


def enrolment_reflections(session: Session, *, enrolment_id: int) -> list[Reflection]:
    """One patient's reflections that staff may read: shared ones and end-of-programme comments."""
    return reflections_for_coding(session, enrolment_ids=[enrolment_id])


def get_reflection(session: Session, reflection_id: str) -> Reflection:
    """The reflection with this id, or 404."""
    reflection = session.get(Reflection, reflection_id)
    if reflection is None:
        raise NotFound("No such comment.")
    return reflection
