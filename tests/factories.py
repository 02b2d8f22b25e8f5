"""Building test data through the real service layer."""

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app import clock as app_clock
from app.clinics import service as clinics_service
from app.clinics.models import Clinic, Role, User
from app.db import open_session
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.programme import service as programme_service

FIXTURE_PROGRAMME = Path(__file__).parent / "fixtures" / "programme" / "programme.yaml"
PASSWORD = "correct horse battery"
# Argon2id at the lowest cost the library allows, for test accounts only: the suite signs in
# thousands of times and each check at the app's cost takes about 0.35 s of CPU. Verifying
# reads the cost from the hash itself, so sign-in runs the app's real code; every hash the
# app makes (join, reset, change of passphrase, the demo) keeps the app's own parameters.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


@dataclass
class World:
    """Two clinics; clinic one has groups A and B, each with a facilitator and two patients."""

    clinic: Clinic
    other_clinic: Clinic
    group_a: Group
    group_b: Group
    users: dict[str, User]
    enrolments: dict[str, Enrolment]
    programme_id: int


def build_world(engine: Engine, *, started_days_ago: int = 10) -> World:
    """The standard cast for tests (logins below all use PASSWORD)."""
    with open_session(engine, write=True) as session:
        programme, _ = programme_service.load_programme_file(session, FIXTURE_PROGRAMME)
        clinic = Clinic(slug="one", name="Clinic One")
        other = Clinic(slug="two", name="Clinic Two")
        session.add_all([clinic, other])
        session.flush()
        users = {
            key: clinics_service.add_staff(
                session,
                clinic=c,
                email=email,
                role=role,
                display_name=key,
                password_hash=PASSWORD_HASH,
            )
            for key, c, email, role in (
                ("admin", clinic, "admin@one.example", Role.admin),
                ("facilitator_a", clinic, "fa@one.example", Role.facilitator),
                ("facilitator_b", clinic, "fb@one.example", Role.facilitator),
                ("clinician", clinic, "clinician@one.example", Role.clinician),
                ("other_clinician", other, "clinician@two.example", Role.clinician),
            )
        }
        start = app_clock.today("Europe/London") - timedelta(days=started_days_ago)
        group_a = groups_service.create_group(
            session,
            clinic_id=clinic.id or 0,
            programme_id=programme.id or 0,
            code="GRP-A",
            name="Group A",
            start_date=start,
            facilitators=[users["facilitator_a"]],
        )
        group_b = groups_service.create_group(
            session,
            clinic_id=clinic.id or 0,
            programme_id=programme.id or 0,
            code="GRP-B",
            name="Group B",
            start_date=start,
            facilitators=[users["facilitator_b"]],
        )
        enrolments = {}
        for code, group in (("A1", group_a), ("A2", group_a), ("B1", group_b), ("B2", group_b)):
            enrolment = groups_service.enrol_patient(
                session, group=group, participant_code=f"P-{code}", password_hash=PASSWORD_HASH
            )
            enrolments[code] = enrolment
            users[f"patient_{code.lower()}"] = session.get(User, enrolment.user_id)  # type: ignore[assignment]
        session.commit()
        return World(clinic, other, group_a, group_b, users, enrolments, programme.id or 0)


def login(client: TestClient, login_name: str, password: str = PASSWORD) -> TestClient:
    """Sign ``client`` in through the JSON API; it then sends the session's X-CSRF-Token."""
    response = client.post("/api/v1/auth/login", json={"login": login_name, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


# Welsh for the test programme's week 1 and two of its exercises: the breathing practice with
# its script, the body scan with its title and summary only. Week 2 and the short breath stay
# in English, so tests see both a translation and the fallback to the original.
WELSH_BREATHING_SCRIPT = """Dewch o hyd i safle cyfforddus. Gallwch stopio ar unrhyw adeg.

[pause 5s]

Anadlwch i mewn yn araf, ac allan yn araf.

[pause 10s]

Dewch yn ôl i'r ystafell yn dyner.
"""
_WELSH_BLOCKS = {
    "    script: scripts/breathing.txt\n": """    translations:
      cy:
        title: "Anadlu lleddfol"
        summary: "Anadlu araf, caredig."
        script: scripts/cy/breathing.txt
""",
    "    script: scripts/body-scan.txt\n": """    translations:
      cy:
        title: "Sgan o'r corff"
        summary: "Sylwi ar y corff."
""",
    '    home_practice: "Ten minutes a day."\n': """    translations:
      cy:
        title: "Croeso"
        theme: "Dechrau arni."
        teaching: "Ychydig o addysgu."
        reflection_prompt: "Beth wnaethoch chi sylwi arno?"
        home_practice: "Deg munud y dydd."
""",
}


def translated_programme(folder: Path) -> Path:
    """A copy of the test programme in ``folder`` with Welsh for week 1, the breathing practice
    (and its script) and the body scan (title and summary only); returns its programme.yaml."""
    shutil.copytree(FIXTURE_PROGRAMME.parent, folder)
    (folder / "scripts" / "cy").mkdir()
    (folder / "scripts" / "cy" / "breathing.txt").write_text(WELSH_BREATHING_SCRIPT)
    path = folder / "programme.yaml"
    text = path.read_text()
    for after, block in _WELSH_BLOCKS.items():
        assert after in text
        text = text.replace(after, after + block, 1)
    path.write_text(text)
    return path
