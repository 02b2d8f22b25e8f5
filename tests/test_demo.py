"""The demo clinic: the logins the CONTRACT promises, plausible data, same seed same data."""

from datetime import date

from sqlalchemy import Engine, func
from sqlmodel import select

from app.clinics.models import User
from app.config import PROJECT_ROOT
from app.db import open_session
from app.demo import seed_demo
from app.practice.models import CheckIn, PracticeLog
from app.programme import service as programme_service

TODAY = date(2026, 11, 26)
PROGRAMMES_DIR = PROJECT_ROOT / "audio" / "programmes"


def seed(engine: Engine, seed_value: int = 7) -> None:
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(
            session, programme_service.default_programme_path(PROGRAMMES_DIR)
        )
        seed_demo(session, today=TODAY, seed=seed_value, password="demo-password")
        session.commit()


def snapshot(engine: Engine) -> tuple[list[str], list[tuple[str, int]], int]:
    with open_session(engine) as session:
        logins = sorted(u.login for u in session.exec(select(User)).all())
        logs = sorted(
            (log.id, log.listened_seconds) for log in session.exec(select(PracticeLog)).all()
        )
        check_ins = session.exec(select(func.count()).select_from(CheckIn)).one()
    return logins, logs, int(check_ins)


def test_demo_has_the_contract_logins_and_months_of_practice(engine: Engine) -> None:
    seed(engine)
    logins, logs, check_ins = snapshot(engine)

    expected = {
        "admin@demo.example",
        "facilitator@demo.example",
        "facilitator2@demo.example",
        "clinician@demo.example",
    }
    expected |= {f"P-A{n:02d}" for n in range(1, 13)} | {f"P-B{n:02d}" for n in range(1, 11)}
    assert set(logins) == expected
    assert len(logs) > 300 and check_ins > 300


def test_the_same_seed_gives_the_same_data_and_refresh_is_idempotent(engine: Engine) -> None:
    seed(engine)
    first = snapshot(engine)
    seed(engine)
    assert snapshot(engine) == first
    seed(engine, seed_value=8)
    assert snapshot(engine)[1] != first[1]
