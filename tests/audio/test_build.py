"""`tend audio build`: renders real synthesised speech, skips what is current, rebuilds
what changed, and a clinic's own recording replaces the shipped one only there."""

import hashlib
import re
import subprocess
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app import clock
from app.audio import processing, speech, worker
from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.audio.pcm import FFMPEG
from app.audio.service import BuildKey
from app.cli import cli
from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import open_session
from app.demo import seed_demo
from app.programme import service as programme_service
from app.programme.models import Exercise
from tests.factories import (
    FIXTURE_PROGRAMME,
    World,
    add_ready_recording,
    login,
    translated_programme,
)


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
        filename = f"{name}.0123456789ab.webm"
        add_ready_recording(
            session,
            exercise_id=exercise.id or 0,
            clinic_id=clinic_id,
            filename=filename,
            size_bytes=4,
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


DEMO_DAY = date(2026, 11, 26)


def _seed_demo(engine: Engine) -> None:
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(
            session,
            programme_service.default_programme_path(PROJECT_ROOT / "audio" / "programmes"),
        )
        seed_demo(session, today=DEMO_DAY, seed=7, password="demo-password")
        session.commit()


def _week_keys(client: TestClient) -> dict[int, list[str]]:
    weeks = client.get("/api/v1/programme").json()["weeks"]
    return {w["number"]: [e["key"] for e in w["exercises"]] for w in weeks}


def test_the_build_renders_the_week_a_running_group_is_in_first(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    with clock.fixed_at(datetime(2026, 11, 26, 12, tzinfo=UTC)):
        _seed_demo(engine)
        login(client, "P-A01", "demo-password")
        programme = client.get("/api/v1/programme").json()["weeks"]
        current = max(w["number"] for w in programme if w["unlocked"])
        jobs, _ = worker.plan_build(engine, settings)
    assert current == 6  # DEMO-A is in its sixth week; DEMO-B finished months ago
    weeks = _week_keys(client)
    order = [job.label for job in jobs]
    this_week = set(weeks[current])
    next_week = set(weeks[current + 1]) - this_week
    # P-A01's week first, then the week after, then weeks 1, 2, ... for everyone else.
    assert set(order[: len(this_week)]) == this_week
    assert set(order[len(this_week) : len(this_week) + len(next_week)]) == next_week
    rest = order[len(this_week) + len(next_week) :]
    assert rest[:3] == weeks[1][:3]
    assert len(order) == len({key for keys in weeks.values() for key in keys})


def _make_current(engine: Engine, settings: Settings, key: str) -> None:
    """What a build that finishes an exercise leaves behind: a ready asset and its file."""
    filename = _ready_asset(engine, exercise_key=key, clinic_id=None, name=key)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    (settings.media_dir / filename).write_bytes(b"opus")
    with open_session(engine, write=True) as session:
        exercise = session.exec(select(Exercise).where(Exercise.key == key)).one()
        asset = session.exec(select(AudioAsset).where(AudioAsset.exercise_id == exercise.id)).one()
        build = BuildKey(exercise.script_sha256, processing.pipeline_version, speech.voice_id())
        asset.source_sha256, asset.pipeline_version = build.source_sha256, build.pipeline_version
        asset.voice_id = build.voice_id
        session.add(asset)
        session.commit()


def test_wait_waits_for_the_running_build_then_finds_its_work_done(
    world: World, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    result: list[tuple[int, str]] = []

    def build_and_wait() -> None:
        result.append(
            _tend(settings, monkeypatch, "audio", "build", "--only", "breathing", "--wait")
        )

    with worker.build_lock(settings) as held:  # a build running elsewhere
        assert held
        waiting = threading.Thread(target=build_and_wait)
        waiting.start()
        time.sleep(1.5)
        assert waiting.is_alive() and result == []  # still waiting, not "exited 0"
        _make_current(engine, settings, "breathing")  # the other build finishes its work
    waiting.join(timeout=60)
    [(code, out)] = result
    assert code == 0, out
    assert "waiting for it to finish" in out
    assert "Rendered 0, skipped 1, failed 0" in out
    # Not a terminal here, so plain lines and no progress bar.
    assert "━" not in out


@pytest.mark.slow
def test_the_build_renders_the_original_script_never_a_translation(
    world: World,
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    programme_file = translated_programme(tmp_path / "cy")  # Welsh script for "breathing"
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(session, programme_file)
        session.commit()
    code, out = _tend(settings, monkeypatch, "audio", "build", "--only", "breathing", "--plain")
    assert code == 0 and "Rendered 1, skipped 0, failed 0" in out, out
    english = (FIXTURE_PROGRAMME.parent / "scripts" / "breathing.txt").read_text()
    [asset] = _assets(engine, "breathing")  # one recording, not one per language
    assert asset.source_sha256 == hashlib.sha256(english.encode()).hexdigest()

    # A corrected Welsh transcript reloads the programme but leaves the audio as it is.
    welsh = programme_file.parent / "scripts" / "cy" / "breathing.txt"
    welsh.write_text(welsh.read_text().replace("yn dyner", "yn araf"))
    with open_session(engine, write=True) as session:
        _, changed = programme_service.load_programme_file(session, programme_file)
        session.commit()
    code, out = _tend(settings, monkeypatch, "audio", "build", "--only", "breathing", "--plain")
    assert changed and "Rendered 0, skipped 1, failed 0" in out, out
