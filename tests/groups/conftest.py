"""Hand-built groups with practice, ratings and words, made through the real services."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from app import clock as app_clock
from app.config import PROJECT_ROOT
from app.db import open_session
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.practice import service as practice_service
from app.practice.models import Reflection, ReflectionKind
from app.practice.schemas import CheckInCreate, PracticeLogCreate, Ratings
from app.programme import service as programme_service
from tests.factories import PASSWORD_HASH, World

LONDON = ZoneInfo("Europe/London")
DEFAULT_PROGRAMME = PROJECT_ROOT / "audio" / "programmes" / "default" / "programme.yaml"


def add_weekly_sessions(engine: Engine, group: Group, weeks: int) -> None:
    """One meeting a week at 10:30 on the first day of each programme week."""
    with open_session(engine, write=True) as session:
        for number in range(1, weeks + 1):
            day = groups_service.week_start(group, number)
            groups_service.add_session(
                session,
                group=group,
                number=number,
                starts_at=datetime.combine(day, time(10, 30), tzinfo=LONDON),
                place="Room 2",
            )
        session.commit()


@dataclass
class EightWeekGroup:
    group: Group
    enrolments: dict[str, Enrolment]
    exercise_id: int


def make_eight_week_group(
    engine: Engine, world: World, *, started_days_ago: int, patients: int = 3, code: str = "GRP-C"
) -> EightWeekGroup:
    """A group on the default 8-week programme, run by facilitator_a, with patients C1, C2..."""
    with open_session(engine, write=True) as session:
        programme, _ = programme_service.load_programme_file(session, DEFAULT_PROGRAMME)
        group = groups_service.create_group(
            session,
            clinic_id=world.clinic.id or 0,
            programme_id=programme.id or 0,
            code=code,
            name="Eight weeks",
            start_date=app_clock.today("Europe/London") - timedelta(days=started_days_ago),
            facilitators=[world.users["facilitator_a"]],
        )
        enrolments = {
            f"C{n}": groups_service.enrol_patient(
                session,
                group=group,
                participant_code=f"P-{code[-1]}{n}",
                password_hash=PASSWORD_HASH,
            )
            for n in range(1, patients + 1)
        }
        exercise = programme_service.outline(session, programme.id or 0)[0].practices[0][1]
        session.commit()
    add_weekly_sessions(engine, group, 8)
    return EightWeekGroup(group, enrolments, exercise.id or 0)


def log_practice(
    session: Session,
    enrolment: Enrolment,
    programme_id: int,
    day: date,
    minutes: float,
    *,
    exercise_id: int | None = None,
    kind: str = "own",
    before: dict[str, int] | None = None,
    after: dict[str, int] | None = None,
) -> None:
    """A practice on ``day`` at 8pm London time, recorded as the phone would send it."""
    started = datetime.combine(day, time(20, 0), tzinfo=LONDON)
    payload = PracticeLogCreate(
        id=uuid.uuid4(),
        exercise_id=exercise_id,
        kind=None if exercise_id else kind,
        started_at=started,
        timezone="Europe/London",
        local_date=day,
        listened_seconds=int(minutes * 60),
        completed=True,
        ratings_before=Ratings(**before) if before else None,
        ratings_after=Ratings(**after) if after else None,
    )
    practice_service.record_practice(
        session, enrolment=enrolment, programme_id=programme_id, payload=payload
    )


def rate(session: Session, enrolment: Enrolment, day: date, **ratings: int) -> None:
    """Ratings on their own, at 6pm London time."""
    payload = CheckInCreate(
        id=uuid.uuid4(),
        recorded_at=datetime.combine(day, time(18, 0), tzinfo=LONDON),
        timezone="Europe/London",
        local_date=day,
        ratings=Ratings(**ratings),
    )
    practice_service.record_check_in(session, enrolment=enrolment, payload=payload)


def write_reflection(
    session: Session,
    enrolment: Enrolment,
    text: str,
    *,
    kind: ReflectionKind = ReflectionKind.weekly,
    week: int | None = 1,
    share: bool = False,
    share_name: bool = False,
    created_at: datetime | None = None,
) -> Reflection:
    """A patient's reflection (the patient app writes these; tests write them directly)."""
    reflection = Reflection(
        id=str(uuid.uuid4()),
        enrolment_id=enrolment.id or 0,
        kind=kind,
        week_number=week,
        text=text,
        share_with_group=share,
        share_name=share_name,
    )
    if created_at is not None:
        reflection.created_at = created_at
        reflection.updated_at = created_at
    session.add(reflection)
    session.flush()
    return reflection
