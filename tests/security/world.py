"""The matrix world: the standard cast plus clinic two's group, practice logs, recordings."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, select

from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.config import Settings
from app.db import open_session
from app.groups import service as groups_service
from app.practice import service as practice_service
from app.practice.schemas import PracticeLogCreate
from app.programme.models import Exercise, ExerciseKind, Programme
from app.programme.models import Week as ProgrammeWeek
from tests.factories import PASSWORD_HASH, World, build_world

from .matrix import CALLERS


@dataclass
class MatrixWorld:
    world: World
    logins: dict[str, str]  # caller -> login
    user_keys: dict[str, str]  # caller -> key in world.users
    objects: dict[str, dict[str, str]]  # kind -> name -> the value that goes in the path
    exercise_id: int  # an exercise of the patients' programme


def _log(exercise_id: int) -> PracticeLogCreate:
    started = datetime.now(UTC) - timedelta(hours=2)
    return PracticeLogCreate(
        id=uuid.uuid4(),
        exercise_id=exercise_id,
        started_at=started,
        timezone="Europe/London",
        local_date=started.date(),
        listened_seconds=300,
        completed=True,
    )


def _recording(session, *, exercise_id: int, clinic_id: int | None, name: str, media: Path):  # type: ignore[no-untyped-def]
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
    content = f"not really opus: {name}".encode()
    (media / name).write_bytes(content)
    session.add(
        AudioRendition(
            asset_id=asset.id or 0,
            filename=name,
            mime_type="audio/webm;codecs=opus",
            codec="opus",
            bitrate_kbps=32,
            duration_seconds=1,
            size_bytes=len(content),
            loudness_lufs=-16,
            true_peak_dbfs=-1.5,
            sha256="x",
        )
    )


def build_matrix_world(engine: Engine, settings: Settings) -> MatrixWorld:
    """Everything the access matrix refers to, with every object named in AUDIENCE."""
    world = build_world(engine)
    media = settings.media_dir
    media.mkdir(parents=True, exist_ok=True)
    with open_session(engine, write=True) as session:
        other_programme = Programme(key="other-programme", title="Another programme")
        session.add(other_programme)
        session.flush()
        session.add(ProgrammeWeek(programme_id=other_programme.id or 0, number=1, title="One"))
        foreign_exercise = Exercise(
            programme_id=other_programme.id or 0,
            key="foreign",
            title="Foreign",
            kind=ExerciseKind.breathing,
            minutes=5,
        )
        session.add(foreign_exercise)
        session.flush()
        group_x = groups_service.create_group(
            session,
            clinic_id=world.other_clinic.id or 0,
            programme_id=other_programme.id or 0,
            code="GRP-X",
            name="Group X",
            start_date=date.today() - timedelta(days=3),
        )
        enrolment_x = groups_service.enrol_patient(
            session,
            group=group_x,
            participant_code="P-X1",
            display_name="Xavier Private-Name",
            password_hash=PASSWORD_HASH,
        )
        exercise = session.exec(
            select(Exercise)
            .where(Exercise.programme_id == world.programme_id)
            .order_by(col(Exercise.id))
        ).first()
        assert exercise is not None and exercise.id is not None
        exercise_id = exercise.id
        logs = {}
        for name, key in (
            ("log-of-patient-a", "A1"),
            ("log-of-patient-b", "A2"),
            ("log-in-group-b", "B1"),
        ):
            payload = _log(exercise_id)
            practice_service.record_practice(
                session,
                enrolment=world.enrolments[key],
                programme_id=world.programme_id,
                payload=payload,
            )
            logs[name] = str(payload.id)
        _recording(
            session,
            exercise_id=exercise_id,
            clinic_id=world.clinic.id,
            name="clinic-one.webm",
            media=media,
        )
        _recording(
            session,
            exercise_id=foreign_exercise.id or 0,
            clinic_id=world.other_clinic.id,
            name="clinic-two.webm",
            media=media,
        )
        _recording(
            session, exercise_id=exercise_id, clinic_id=None, name="shipped.webm", media=media
        )
        session.commit()
        objects = {
            "group": {"GRP-A": "GRP-A", "GRP-B": "GRP-B", "GRP-X": "GRP-X"},
            "exercise": {
                "in-clinic-one-programme": str(exercise_id),
                "in-another-programme": str(foreign_exercise.id),
                "missing": "999999",
            },
            "rendition": {
                "clinic-one-recording": "clinic-one.webm",
                "clinic-two-recording": "clinic-two.webm",
                "shipped-recording": "shipped.webm",
                "missing": "missing.webm",
            },
            "practice_log": logs,
            "enrolment": {
                "patient-a": str(world.enrolments["A1"].id),
                "patient-b": str(world.enrolments["A2"].id),
                "patient-in-group-b": str(world.enrolments["B1"].id),
                "patient-in-clinic-two": str(enrolment_x.id),
            },
        }
    logins = dict(
        zip(
            CALLERS,
            [
                "",
                "P-A1",
                "P-A2",
                "fa@one.example",
                "fb@one.example",
                "clinician@one.example",
                "clinician@two.example",
                "admin@one.example",
            ],
            strict=True,
        )
    )
    user_keys = dict(
        zip(
            CALLERS,
            ["", "patient_a1", "patient_a2", "facilitator_a", "facilitator_b", "clinician"]
            + ["other_clinician", "admin"],
            strict=True,
        )
    )
    return MatrixWorld(world, logins, user_keys, objects, exercise_id)
