"""Time the engagement board for a 15-patient group with 8 weeks of data.

    .venv/bin/python bench/board.py [--database-url URL] [--runs 50]

Builds a fresh database (SQLite in a temporary folder unless a URL is given), a group on the
default programme that started eight weeks ago, 15 patients practising most days with before
and after ratings, weekly check-ins and attendance, then times GET /groups/<code> (the whole
page: guards, queries, flags, template) in-process, and the board service on its own.
Target: under 100 ms server time for the page.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time as clock
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import text

from app import migrate
from app.auth.passwords import hash_password
from app.clinics import service as clinics_service
from app.clinics.models import Clinic, Role
from app.config import PROJECT_ROOT, Settings
from app.db import create_db_engine, open_session
from app.groups import engagement
from app.groups import service as groups_service
from app.groups.models import Attendance, AttendanceStatus
from app.main import create_app
from app.practice.models import CheckIn, CheckInMoment, PracticeKind, PracticeLog
from app.programme import service as programme_service

ZONE = ZoneInfo("Europe/London")
PATIENTS = 15
WEEKS = 8
PASSWORD = "bench password here"


def build(url: str, seed: int = 7) -> int:
    """Fill the database; returns how many practice logs were made."""
    rng = random.Random(seed)
    engine = create_db_engine(url)
    logs = 0
    with open_session(engine, write=True) as session:
        programme, _ = programme_service.load_programme_file(
            session, PROJECT_ROOT / "audio" / "programmes" / "default" / "programme.yaml"
        )
        exercises = [
            e for o in programme_service.outline(session, programme.id or 0) for _, e in o.practices
        ]
        clinic = Clinic(slug="bench", name="Bench clinic")
        session.add(clinic)
        session.flush()
        facilitator = clinics_service.add_staff(
            session,
            clinic=clinic,
            email="facilitator@bench.example",
            role=Role.facilitator,
            display_name="F",
            password_hash=hash_password(PASSWORD),
        )
        today = date.today()
        group = groups_service.create_group(
            session,
            clinic_id=clinic.id or 0,
            programme_id=programme.id or 0,
            code="BENCH",
            name="Bench group",
            start_date=today - timedelta(weeks=WEEKS) + timedelta(days=1),
            facilitators=[facilitator],
        )
        meetings = [
            groups_service.add_session(
                session,
                group=group,
                number=n,
                starts_at=datetime.combine(
                    groups_service.week_start(group, n), time(10, 30), tzinfo=ZONE
                ),
            )
            for n in range(1, WEEKS + 1)
        ]
        session.flush()
        for number in range(1, PATIENTS + 1):
            enrolment = groups_service.enrol_patient(
                session, group=group, participant_code=f"P-BENCH{number:02d}"
            )
            engagement_level = rng.uniform(0.2, 0.95)
            day = group.start_date
            while day < today:
                for _ in range(2 if rng.random() < 0.3 else 1):
                    if rng.random() > engagement_level:
                        continue
                    exercise = rng.choice(exercises)
                    started = datetime.combine(day, time(rng.randrange(7, 22)), tzinfo=ZONE)
                    log = PracticeLog(
                        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        enrolment_id=enrolment.id or 0,
                        exercise_id=exercise.id,
                        kind=PracticeKind.exercise,
                        started_at=started,
                        utc_offset_minutes=0,
                        timezone="Europe/London",
                        local_date=day,
                        listened_seconds=int(exercise.minutes * 60 * rng.uniform(0.5, 1)),
                        completed=True,
                        request_sha256="bench",
                    )
                    session.add(log)
                    logs += 1
                    session.flush()
                    pain = rng.randint(3, 8)
                    for moment, value in (
                        (CheckInMoment.before, pain),
                        (CheckInMoment.after, pain - 1),
                    ):
                        session.add(
                            CheckIn(
                                id=str(uuid.uuid5(uuid.UUID(log.id), moment.value)),
                                enrolment_id=enrolment.id or 0,
                                practice_log_id=log.id,
                                moment=moment,
                                recorded_at=started,
                                local_date=day,
                                pain_intensity=max(0, value),
                                pain_distress=max(0, value - 1),
                                mood=rng.randint(3, 8),
                            )
                        )
                if day.weekday() == 6:
                    session.add(
                        CheckIn(
                            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            enrolment_id=enrolment.id or 0,
                            moment=CheckInMoment.standalone,
                            recorded_at=datetime.combine(day, time(18), tzinfo=ZONE),
                            local_date=day,
                            pain_intensity=rng.randint(2, 9),
                        )
                    )
                day += timedelta(days=1)
            for meeting in meetings:
                if meeting.starts_at.date() < today:
                    session.add(
                        Attendance(
                            group_session_id=meeting.id or 0,
                            enrolment_id=enrolment.id or 0,
                            status=rng.choice(list(AttendanceStatus)),
                        )
                    )
        session.commit()
    if not url.startswith("sqlite"):
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return logs


def _summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    return (
        f"median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, "
        f"min {samples[0]:.1f} ms, max {samples[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        started = clock.perf_counter()
        logs = build(url)
        print(
            f"built {PATIENTS} patients, {WEEKS} weeks, {logs} practice logs "
            f"in {clock.perf_counter() - started:.1f} s ({url.split(':')[0]})"
        )
        settings = Settings(
            environment="test",
            database_url=url,
            data_dir=Path(folder) / "data",
            secret_key="bench-secret-key-that-is-long-enough",
        )
        app = create_app(settings)
        server_ms: list[float] = []

        async def timed(scope, receive, send):  # type: ignore[no-untyped-def]
            # Server time: from the app receiving the request to the last byte of the response.
            started = clock.perf_counter()
            await app(scope, receive, send)
            if scope["type"] == "http":
                server_ms.append((clock.perf_counter() - started) * 1000)

        with TestClient(timed) as client:
            response = client.post(
                "/api/v1/auth/login",
                json={"login": "facilitator@bench.example", "password": PASSWORD},
            )
            assert response.status_code == 200, response.text
            for _ in range(3):  # warm up: template compilation, connection pool
                assert client.get("/groups/BENCH").status_code == 200
            server_ms.clear()
            page, cpu = [], []
            for _ in range(args.runs):
                started, cpu_started = clock.perf_counter(), clock.process_time()
                response = client.get("/groups/BENCH")
                page.append((clock.perf_counter() - started) * 1000)
                # CPU time of the whole process (server and client threads): what the request
                # costs when the machine is busy with other work and wall time waits for a core.
                cpu.append((clock.process_time() - cpu_started) * 1000)
                assert response.status_code == 200
            engine = create_db_engine(url)
            service = []
            with open_session(engine) as session:
                group = groups_service.get_group_for_staff(
                    session,
                    code="BENCH",
                    viewer=clinics_service_user(session),
                )
                today = engagement.group_today(session, group)
                for _ in range(args.runs):
                    started = clock.perf_counter()
                    board = engagement.build_board(session, group=group, today=today)
                    service.append((clock.perf_counter() - started) * 1000)
            engine.dispose()
        print(f"GET /groups/BENCH server time (ASGI app), {args.runs} runs: {_summary(server_ms)}")
        print(f"GET /groups/BENCH round trip via TestClient, {args.runs} runs: {_summary(page)}")
        print(f"GET /groups/BENCH process CPU time, {args.runs} runs: {_summary(cpu)}")
        print(f"engagement.build_board alone, {args.runs} runs: {_summary(service)}")
        print(f"board: {len(board.rows)} patients, {len(board.flags)} flags")


def clinics_service_user(session):  # type: ignore[no-untyped-def]
    """The bench facilitator."""
    from sqlmodel import select

    from app.clinics.models import User

    return session.exec(select(User).where(User.login == "facilitator@bench.example")).one()


if __name__ == "__main__":
    main()
