"""An admin uploads the clinic's own recording through the page: every supported format is
accepted and rendered like the shipped voice; a bad file gets a message next to its field
and changes nothing."""

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import func, select

from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.audio.pcm import FFMPEG
from app.audit.models import AuditEvent
from app.db import open_session
from app.programme.models import Exercise
from tests.factories import World, login
from tests.pages import hidden_fields, visible_text

# A voice-like test signal: a tone whose level swells and fades, so loudness gating and
# trimming have something to do.
_TONE = (
    "sine=frequency=220:sample_rate=44100:duration={s},volume='0.3+0.2*sin(2*PI*t/3)':eval=frame"
)
_FORMATS = {
    "wav": ["-c:a", "pcm_s16le"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
    "flac": ["-c:a", "flac"],
}


def _make(path: Path, source: str, *codec: str) -> Path:
    subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            source,
            *codec,
            "-y",
            str(path),
        ],
        check=True,
    )
    return path


def _tone(path: Path, seconds: float) -> Path:
    suffix = path.suffix.lstrip(".")
    return _make(path, _TONE.format(s=seconds), *_FORMATS.get(suffix, []))


def _exercise_id(engine: Engine, key: str = "breathing") -> int:
    with open_session(engine) as session:
        return session.exec(select(Exercise.id).where(Exercise.key == key)).one() or 0


def _upload(client: TestClient, exercise_id: int, path: Path, name: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/admin/audio")
    assert page.status_code == 200
    with path.open("rb") as handle:
        return client.post(
            f"/admin/audio/{exercise_id}",
            data={"csrf_token": hidden_fields(page.text)["csrf_token"]},
            files={"recording": (name or path.name, handle, "application/octet-stream")},
            headers={"Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )


def _counts(engine: Engine) -> tuple[int, int]:
    with open_session(engine) as session:
        assets = session.exec(select(func.count()).select_from(AudioAsset)).one()
        renditions = session.exec(select(func.count()).select_from(AudioRendition)).one()
    return assets, renditions


@pytest.mark.slow
@pytest.mark.parametrize("suffix", sorted(_FORMATS))
def test_each_supported_format_becomes_the_clinics_audio(
    suffix: str, world: World, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    login(client, "admin@one.example")
    exercise_id = _exercise_id(engine)
    response = _upload(client, exercise_id, _tone(tmp_path / f"take.{suffix}", 12))
    assert response.status_code == 303, visible_text(response.text)

    # The background job ran after the answer; the page now plays the clinic's recording.
    page = visible_text(client.get("/admin/audio").text)
    assert f"Playing now: your clinic's recording (take.{suffix})" in page
    with open_session(engine) as session:
        asset = session.exec(
            select(AudioAsset).where(AudioAsset.clinic_id == world.clinic.id)
        ).one()
        renditions = session.exec(
            select(AudioRendition).where(AudioRendition.asset_id == asset.id)
        ).all()
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "audio.upload")).one()
    assert asset.status == AudioStatus.ready, asset.error
    assert audit.object_id == str(asset.id)
    assert sorted(r.codec for r in renditions) == ["aac", "opus"]
    for rendition in renditions:
        # Trimmed and levelled like the synthetic voice.
        assert 10 < rendition.duration_seconds <= 12.5
        assert -17 <= rendition.loudness_lufs <= -15 and rendition.true_peak_dbfs <= -1


def _bad_files(tmp_path: Path) -> list[tuple[Path, str]]:
    text = tmp_path / "notes.mp3"
    text.write_text("This is a shopping list, not a recording.\n" * 50)
    silent = _make(tmp_path / "silent.wav", "anullsrc=r=44100:cl=mono", "-t", "15")
    short = _tone(tmp_path / "short.wav", 5)
    # 91 minutes of (quiet) tone in a small file: the length check comes first.
    long = _make(
        tmp_path / "long.flac", "sine=frequency=220:sample_rate=8000:duration=5460", "-ac", "1"
    )
    return [
        (text, "is not a recording we can read"),
        (silent, "seems to be silent"),
        (short, "is only 5 seconds long"),
        (long, "is longer than 90 minutes"),
    ]


@pytest.mark.slow
def test_bad_files_get_a_message_next_to_the_field_and_change_nothing(
    world: World, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    login(client, "admin@one.example")
    exercise_id = _exercise_id(engine)
    before = _counts(engine)
    for path, message in _bad_files(tmp_path):
        response = _upload(client, exercise_id, path)
        assert response.status_code == 422
        # The message sits in the field's own error, tied to this exercise's upload field.
        assert f'id="recording-{exercise_id}-error"' in response.text
        error = response.text.split(f'id="recording-{exercise_id}-error"')[1].split("</p>")[0]
        assert message in error, (path.name, error)
        assert _counts(engine) == before
    assert list((Path(client.app.state.settings.data_dir) / "uploads").glob("*")) == []  # type: ignore[attr-defined]


def test_only_admins_upload(world: World, engine: Engine, client: TestClient) -> None:
    login(client, "clinician@one.example")
    assert client.get("/admin/audio").status_code == 403


def test_an_upload_without_a_file_is_refused(
    world: World, engine: Engine, client: TestClient
) -> None:
    login(client, "admin@one.example")
    exercise_id = _exercise_id(engine)
    page = client.get("/admin/audio")
    response = client.post(
        f"/admin/audio/{exercise_id}",
        data={"csrf_token": hidden_fields(page.text)["csrf_token"]},
        files={"recording": ("", b"", "application/octet-stream")},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 422
    assert "Choose a recording to upload." in response.text


def test_the_page_shows_a_failed_upload_with_its_reason(
    world: World, engine: Engine, client: TestClient
) -> None:
    with open_session(engine, write=True) as session:
        session.add(
            AudioAsset(
                exercise_id=_exercise_id(engine),
                clinic_id=world.clinic.id,
                source=AudioSource.upload,
                status=AudioStatus.failed,
                source_sha256="y",
                pipeline_version="",
                original_filename="session-3.m4a",
                error="This recording seems to be silent.",
            )
        )
        session.commit()
    login(client, "admin@one.example")
    page = visible_text(client.get("/admin/audio").text)
    assert (
        "Your upload “session-3.m4a” could not be used: This recording seems to be silent." in page
    )


def test_an_upload_without_a_length_is_cut_off_at_the_cap_while_streaming(
    world: World,
    engine: Engine,
    app: FastAPI,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.audio import worker

    monkeypatch.setattr(worker, "MAX_UPLOAD_BYTES", 1 << 20)  # the cap is this plus 1 MB
    login(client, "admin@one.example")
    token = hidden_fields(client.get("/admin/audio").text)["csrf_token"]
    boundary = "tendboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        'name="recording"; filename="huge.wav"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    chunks = [head] + [b"\0" * (1 << 20)] * 64  # 64 MB offered, with no Content-Length
    read = 0
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        more = read < len(chunks)
        return {"type": "http.request", "body": chunks[read - 1], "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/admin/audio/{_exercise_id(engine)}",
        "raw_path": b"",
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"sec-fetch-site", b"same-origin"),
            (b"cookie", cookies.encode()),
        ],
    }
    asyncio.run(app(scope, receive, send))
    assert answer["status"] == 422 and b"larger than" in answer["body"]
    assert read <= 4  # it stopped reading past the cap (2 MB), not after spooling all 64 MB
    assert _counts(engine) == (0, 0)


def test_ffmpeg_reads_uploads_under_cpu_and_memory_limits(tmp_path: Path) -> None:
    from app.audio.pcm import FFMPEG_CPU_SECONDS, FFMPEG_MEMORY_BYTES, limit_ffmpeg

    limits = subprocess.run(
        ["sh", "-c", "ulimit -t; ulimit -v"],
        capture_output=True,
        text=True,
        preexec_fn=limit_ffmpeg,
        check=True,
    ).stdout.split()
    assert limits == [str(FFMPEG_CPU_SECONDS), str(FFMPEG_MEMORY_BYTES // 1024)]
