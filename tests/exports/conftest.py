"""A small clinic with practice, ratings, attendance and a reflection, for the export tests."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app import clock as app_clock
from app.clinics.models import User
from app.db import open_session
from app.groups import service as groups_service
from app.groups.models import Attendance, AttendanceStatus, Enrolment, GroupSession
from app.outcomes import questionnaires
from app.outcomes.models import Administration
from app.practice.models import Reflection, ReflectionKind
from tests.factories import World, login

LONDON = ZoneInfo("Europe/London")
REFLECTION_TEXT = "My neighbour Margaret noticed I walk to the shop again"


@dataclass
class Populated:
    world: World
    start: date
    # participant code -> number of practice logs posted
    logs: dict[str, int] = field(default_factory=dict)


def post_practice(client: TestClient, day: date, *, seconds: int, hour: int = 9) -> None:
    programme = client.get("/api/v1/programme").json()
    exercise_id = programme["weeks"][0]["exercises"][0]["id"]
    started = datetime.combine(day, time(hour, 15), tzinfo=LONDON)
    body = {
        "id": str(uuid.uuid4()),
        "exercise_id": exercise_id,
        "started_at": started.isoformat(),
        "timezone": "Europe/London",
        "local_date": day.isoformat(),
        "listened_seconds": seconds,
        "completed": True,
        "ratings_before": {"pain_intensity": 7, "pain_distress": 6, "mood": 4},
        "ratings_after": {"pain_intensity": 5, "pain_distress": 4, "mood": 6},
    }
    response = client.post("/api/v1/practice-logs", json=body)
    assert response.status_code == 201, response.text


def actor(engine: Engine, login_name: str) -> User:
    with open_session(engine) as session:
        user = session.exec(select(User).where(User.login == login_name)).one()
        session.expunge(user)
        return user


@pytest.fixture
def populated(engine: Engine, client: TestClient, world: World) -> Populated:
    """P-A1 practises on three days, P-A2 ten minutes on five days of week 1, P-B1 once (the
    cast's groups started ten days ago)."""
    start = world.group_a.start_date
    data = Populated(world, start)
    plan = {
        "P-A1": [(start, 300), (start + timedelta(days=2), 420), (start + timedelta(days=5), 900)],
        "P-A2": [(start + timedelta(days=i), 600) for i in range(5)],
        "P-B1": [(start + timedelta(days=1), 480)],
    }
    for code, logs in plan.items():
        login(client, code)
        for day, seconds in logs:
            post_practice(client, day, seconds=seconds)
        client.post("/api/v1/auth/logout")
        data.logs[code] = len(logs)
    with open_session(engine, write=True) as session:
        meeting = GroupSession(
            group_id=world.group_a.id or 0,
            number=1,
            starts_at=datetime.combine(start, time(10), tzinfo=LONDON),
        )
        session.add(meeting)
        session.flush()
        for key, status in (("A1", AttendanceStatus.present), ("A2", AttendanceStatus.apologies)):
            session.add(
                Attendance(
                    group_session_id=meeting.id or 0,
                    enrolment_id=world.enrolments[key].id or 0,
                    status=status,
                )
            )
        session.add(
            Reflection(
                id=str(uuid.uuid4()),
                enrolment_id=world.enrolments["A1"].id or 0,
                kind=ReflectionKind.weekly,
                week_number=1,
                text=REFLECTION_TEXT,
            )
        )
        # A patient's name is held apart from exports.
        patient = session.get(User, world.enrolments["A1"].user_id)
        assert patient is not None
        patient.display_name = "Margaret Example"
        session.add(patient)
        session.commit()
        assert groups_service.get_group(session, world.group_a.id or 0).code == "GRP-A"
    return data


PHQ9_FIRST = {f"q{n}": 1 for n in range(1, 10)}
PHQ9_CORRECTED = dict(zip(PHQ9_FIRST, (2, 1, 0, 3, 1, 2, 0, 1, 0), strict=True))
PHQ9_PAPER = {**PHQ9_CORRECTED, "q3": None}  # one item left blank: the score is prorated
GAD7 = {f"q{n}": n % 4 for n in range(1, 8)}


@dataclass
class Scored:
    populated: Populated
    # When the patients sent their forms; the clinician's paper forms and correction are today.
    earlier: datetime


@pytest.fixture
def scored(populated: Populated, engine: Engine) -> Scored:
    """Questionnaires on top of ``populated``.

    P-A1: a PHQ-9 the clinician corrected, and a GAD-7. P-A2: a PSEQ entered as a total
    and a paper PHQ-9 with item 3 blank. P-B1: a PHQ-9 draft. P-B2: a GAD-7.
    """
    world = populated.world
    earlier = app_clock.now() - timedelta(days=9)
    with open_session(engine, write=True) as session:
        clinician = session.get(User, world.users["clinician"].id)
        a1, a2, b1, b2 = (
            session.get(Enrolment, world.enrolments[key].id) for key in ("A1", "A2", "B1", "B2")
        )
        assert clinician and a1 and a2 and b1 and b2
        patients_forms = ((a1, "phq9", PHQ9_FIRST), (a1, "gad7", GAD7), (b2, "gad7", GAD7))
        for enrolment, instrument, answers in patients_forms:
            questionnaires.record_administration(
                session,
                enrolment=enrolment,
                instrument_id=instrument,
                timepoint="baseline",
                submitted_at=earlier,
                answers=answers,
            )
        paper_forms: tuple[tuple[Enrolment, str, dict[str, Any]], ...] = (
            (a1, "phq9", {"answers": PHQ9_CORRECTED, "correction": True}),
            (a2, "phq9", {"answers": PHQ9_PAPER}),
            (a2, "pseq", {"total": 30}),
        )
        for enrolment, instrument, form in paper_forms:
            questionnaires.enter_paper_form(
                session,
                staff=clinician,
                enrolment=enrolment,
                instrument_id=instrument,
                timepoint="baseline",
                **form,
            )
        session.add(
            Administration(
                enrolment_id=b1.id or 0,
                instrument_id="phq9",
                instrument_version="1",
                timepoint="baseline",
                answers={"q1": 2, "q2": 3},
            )
        )
        session.commit()
    return Scored(populated, earlier)
