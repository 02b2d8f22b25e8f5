"""`tend audio build`: renders real synthesised speech, skips what is current, rebuilds
what changed, and a clinic's own recording replaces the shipped one only there."""

import hashlib
import re
import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.audio.pcm import FFMPEG
from app.cli import cli
from app.config import Settings, get_settings
from app.db import open_session
from app.programme.models import Exercise
from tests.factories import World, build_world, login


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


def _tend(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("TEND_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("TEND_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def _assets(engine: Engine, key: str) -> list[AudioAsset]:
    with open_session(engine) as session:
        exercise = session.exec(select(Exercise).where(Exercise.key == key)).one()
        return list(
            session.exec(
                select(AudioAsset)
                .where(AudioAsset.exercise_id == exercise.id)
                .order_by(AudioAsset.id)  # type: ignore[arg-type]
            ).all()
        )


def _renditions(engine: Engine, asset: AudioAsset) -> list[AudioRendition]:
    with open_session(engine) as session:
        return list(
            session.exec(select(AudioRendition).where(AudioRendition.asset_id == asset.id)).all()
        )


def _ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak as ffmpeg measures them: not our own meter."""
    out = subprocess.run(
        [FFMPEG, "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    lufs = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", out)[-1])
    return lufs, peak


@pytest.mark.slow
def test_build_renders_skips_and_rebuilds_changed_scripts(
    world: World,
    engine: Engine,
    settings: Settings,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out = _tend(settings, monkeypatch, "audio", "build", "--only", "short-breath", "--plain")
    assert code == 0, out
    assert "Rendered 1, skipped 0, failed 0" in out
    [first] = _assets(engine, "short-breath")
    assert first.status == AudioStatus.ready and first.clinic_id is None
    renditions = _renditions(engine, first)
    assert sorted(r.codec for r in renditions) == ["aac", "opus"]
    for rendition in renditions:
        path = settings.media_dir / rendition.filename
        # Content-hashed name, and the stored measurements describe the file on disk.
        assert hashlib.sha256(path.read_bytes()).hexdigest()[:12] in rendition.filename
        assert rendition.size_bytes == path.stat().st_size
        # The fixture script: two bells, ~30 words and 15 s of pauses.
        assert 25 < rendition.duration_seconds < 60
        lufs, peak = _ebur128(path)
        assert -17.0 <= lufs <= -15.0 and peak <= -1.0
    # Other exercises were not touched by --only.
    assert _assets(engine, "body-scan") == []

    code, out = _tend(settings, monkeypatch, "audio", "build", "--only", "short-breath", "--plain")
    assert "Rendered 0, skipped 1, failed 0" in out

    # The patient's programme now offers the audio.
    login(client, "P-A1")
    exercises = client.get("/api/v1/programme").json()["weeks"][0]["exercises"]
    short = next(e for e in exercises if e["key"] == "short-breath")
    assert short["audio_status"] == "ready" and len(short["renditions"]) == 2

    with open_session(engine, write=True) as session:
        exercise = session.exec(select(Exercise).where(Exercise.key == "short-breath")).one()
        exercise.script = exercise.script.replace("slowly", "gently")
        exercise.script_sha256 = hashlib.sha256(exercise.script.encode()).hexdigest()
        session.add(exercise)
        session.commit()
    code, out = _tend(settings, monkeypatch, "audio", "build", "--only", "short-breath", "--plain")
    assert "Rendered 1, skipped 0, failed 0" in out
    old, new = _assets(engine, "short-breath")
    assert old.status == AudioStatus.superseded and new.status == AudioStatus.ready
    # The old files stay: a phone that loaded the page earlier can still finish playing.
    assert all((settings.media_dir / r.filename).is_file() for r in _renditions(engine, old))


def test_build_names_an_unknown_exercise(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _tend(settings, monkeypatch, "audio", "build", "--only", "no-such", "--plain")
    assert code == 2 and "No exercise called no-such" in out


def _ready_asset(engine: Engine, *, exercise_key: str, clinic_id: int | None, name: str) -> str:
    with open_session(engine, write=True) as session:
        exercise = session.exec(select(Exercise).where(Exercise.key == exercise_key)).one()
        asset = AudioAsset(
            exercise_id=exercise.id or 0,
            clinic_id=clinic_id,
            source=AudioSource.upload if clinic_id else AudioSource.synthetic,
            status=AudioStatus.ready,
            source_sha256="x",
            pipeline_version="1",
        )
        session.add(asset)
        session.flush()
        filename = f"{name}.0123456789ab.webm"
        session.add(
            AudioRendition(
                asset_id=asset.id or 0,
                filename=filename,
                mime_type="audio/webm;codecs=opus",
                codec="opus",
                bitrate_kbps=32,
                duration_seconds=30,
                size_bytes=4,
                loudness_lufs=-16,
                true_peak_dbfs=-1.5,
                sha256="x",
            )
        )
        session.commit()
    return filename


def _urls(client: TestClient, key: str) -> list[str]:
    weeks = client.get("/api/v1/programme").json()["weeks"]
    exercise = next(e for w in weeks for e in w["exercises"] if e["key"] == key)
    return [r["url"] for r in exercise["renditions"]]


def test_a_clinic_recording_replaces_the_shipped_one_only_in_that_clinic(
    world: World, engine: Engine, settings: Settings, client: TestClient
) -> None:
    shipped = _ready_asset(engine, exercise_key="breathing", clinic_id=None, name="shipped")
    own = _ready_asset(engine, exercise_key="breathing", clinic_id=world.clinic.id, name="own")
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    for name in (shipped, own):
        (settings.media_dir / name).write_bytes(b"opus")

    login(client, "P-A1")
    assert _urls(client, "breathing") == [f"/media/{own}"]
    assert client.get(f"/media/{own}").status_code == 200

    other = TestClient(client.app)
    login(other, "clinician@two.example")
    # The other clinic never hears, nor can fetch, clinic one's recording.
    assert other.get(f"/media/{own}").status_code == 404
    assert other.get(f"/media/{shipped}").status_code == 200


def test_only_one_build_runs_at_a_time(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.audio import worker

    with worker.build_lock(settings) as held:
        assert held
        code, out = _tend(settings, monkeypatch, "audio", "build", "--plain")
    assert code == 0 and "Another audio build is running" in out
    assert _assets_count(settings) == 0


def _assets_count(settings: Settings) -> int:
    from sqlmodel import func

    from app.db import create_db_engine

    engine = create_db_engine(settings.resolved_database_url)
    with open_session(engine) as session:
        count = session.exec(select(func.count()).select_from(AudioAsset)).one()
    engine.dispose()
    return count


def test_the_shipped_audio_plays_until_the_clinic_recording_is_ready(
    world: World, engine: Engine, client: TestClient
) -> None:
    shipped = _ready_asset(engine, exercise_key="breathing", clinic_id=None, name="shipped")
    with open_session(engine, write=True) as session:
        exercise = session.exec(select(Exercise).where(Exercise.key == "breathing")).one()
        for status in (AudioStatus.pending, AudioStatus.failed):
            session.add(
                AudioAsset(
                    exercise_id=exercise.id or 0,
                    clinic_id=world.clinic.id,
                    source=AudioSource.upload,
                    status=status,
                    source_sha256="y",
                    pipeline_version="",
                )
            )
        session.commit()
    login(client, "P-A1")
    assert _urls(client, "breathing") == [f"/media/{shipped}"]


def test_a_background_build_honours_its_options(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _tend(
        settings, monkeypatch, "audio", "build", "--background", "--only", "no-such-practice"
    )
    assert code == 0 and "in the background" in output
    log = settings.data_dir / "audio-build.log"
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and "Rendered" not in _read(log)
        and "No exercise" not in _read(log)
    ):
        time.sleep(0.2)
    # The detached build was given --only: it refuses the unknown key instead of planning all.
    assert "No exercise called no-such-practice." in _read(log)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
