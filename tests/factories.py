"""Building test data through the real service layer."""

import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app import clock as app_clock
from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.clinics import service as clinics_service
from app.clinics.models import Clinic, Role, User
from app.db import open_session
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.practice.models import PracticeKind, PracticeLog
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
        group_a, group_b = (
            groups_service.create_group(
                session,
                clinic_id=clinic.id or 0,
                programme_id=programme.id or 0,
                code=f"GRP-{letter}",
                name=f"Group {letter}",
                start_date=start,
                facilitators=[users[f"facilitator_{letter.lower()}"]],
            )
            for letter in "AB"
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


def add_ready_recording(
    session: Session,
    *,
    exercise_id: int,
    filename: str,
    size_bytes: int,
    clinic_id: int | None = None,
    duration_seconds: float = 30,
) -> AudioRendition:
    """A ready recording of an exercise with one Opus rendition (the file itself is the
    caller's to write): a clinic's own upload when ``clinic_id`` is given, else shipped."""
    asset = AudioAsset(
        exercise_id=exercise_id,
        clinic_id=clinic_id,
        source=AudioSource.upload if clinic_id else AudioSource.synthetic,
        status=AudioStatus.ready,
        source_sha256="0" * 64,
        pipeline_version="test",
    )
    session.add(asset)
    session.flush()
    rendition = AudioRendition(
        asset_id=asset.id or 0,
        filename=filename,
        mime_type="audio/webm;codecs=opus",
        codec="opus",
        bitrate_kbps=32,
        duration_seconds=duration_seconds,
        size_bytes=size_bytes,
        loudness_lufs=-16,
        true_peak_dbfs=-1.5,
        sha256="0" * 64,
    )
    session.add(rendition)
    return rendition


def practice_log(
    enrolment: Enrolment,
    *,
    started_at: datetime | None = None,
    seconds: int = 300,
    timezone: str = "Europe/London",
) -> PracticeLog:
    """A completed five-minute practice of the patient's own (by default starting now), as
    stored from the phone; the caller adds it to a session."""
    started = started_at or app_clock.now()
    local = started.astimezone(ZoneInfo(timezone))
    offset = local.utcoffset() or timedelta()
    return PracticeLog(
        id=str(uuid.uuid4()),
        enrolment_id=enrolment.id or 0,
        kind=PracticeKind.own,
        started_at=started,
        utc_offset_minutes=int(offset.total_seconds() // 60),
        timezone=timezone,
        local_date=local.date(),
        listened_seconds=seconds,
        completed=True,
        request_sha256="0" * 64,
    )


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
