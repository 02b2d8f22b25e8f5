"""Rendered audio is served with byte ranges, and only to people of the clinic."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from app.db import open_session
from tests.factories import World, add_ready_recording, login

FILENAME = "breathing.0123456789ab.webm"
CONTENT = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(autouse=True)
def rendition(world: World, engine: Engine, settings: Settings) -> None:
    """One rendered exercise in the media folder, for the cast's patients to fetch."""
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    (settings.media_dir / FILENAME).write_bytes(CONTENT)
    with open_session(engine, write=True) as session:
        add_ready_recording(
            session,
            exercise_id=1,
            filename=FILENAME,
            size_bytes=len(CONTENT),
            duration_seconds=2.5,
        )
        session.commit()


def test_ranges_are_answered_with_206(client: TestClient, world: World) -> None:
    login(client, "P-A1")

    first = client.get(f"/media/{FILENAME}", headers={"Range": "bytes=0-1"})
    middle = client.get(f"/media/{FILENAME}", headers={"Range": "bytes=5000-5009"})
    last = client.get(f"/media/{FILENAME}", headers={"Range": "bytes=-16"})
    beyond = client.get(f"/media/{FILENAME}", headers={"Range": "bytes=20000-"})

    assert first.status_code == 206 and first.content == CONTENT[:2]
    assert first.headers["content-range"] == f"bytes 0-1/{len(CONTENT)}"
    assert middle.content == CONTENT[5000:5010]
    assert last.content == CONTENT[-16:]
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(CONTENT)}"
    for malformed in ("bytes=5-2", "bytes=abc", "bytes=-"):
        refused = client.get(f"/media/{FILENAME}", headers={"Range": malformed})
        assert refused.status_code == 416, malformed
        assert refused.headers["content-range"] == f"bytes */{len(CONTENT)}"
    end = client.get(f"/media/{FILENAME}", headers={"Range": f"bytes={len(CONTENT) - 1}-"})
    assert end.status_code == 206 and end.content == CONTENT[-1:]
    assert first.headers["content-type"] == "audio/webm;codecs=opus"
    whole = client.get(f"/media/{FILENAME}")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert "immutable" in whole.headers["cache-control"]


def test_the_programme_lists_the_renditions(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    exercise = client.get("/api/v1/programme").json()["weeks"][0]["exercises"][0]

    assert exercise["audio_status"] == "ready"
    assert exercise["renditions"] == [
        {
            "url": f"/media/{FILENAME}",
            "mime_type": "audio/webm;codecs=opus",
            "bitrate_kbps": 32.0,
            "duration_seconds": 2.5,
            "size_bytes": len(CONTENT),
            "loudness_lufs": -16.0,
        }
    ]


def test_media_needs_a_signed_in_member_of_the_clinic(client: TestClient, world: World) -> None:
    assert client.get(f"/media/{FILENAME}", follow_redirects=False).status_code == 303
    login(client, "clinician@two.example")
    assert client.get(f"/media/{FILENAME}").status_code == 200  # shipped audio: every clinic


def test_audio_is_never_compressed(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    for extra in ({}, {"Range": "bytes=0-1023"}):
        headers = {"Accept-Encoding": "br, gzip", **extra}
        with client.stream("GET", f"/media/{FILENAME}", headers=headers) as response:
            body = b"".join(response.iter_raw())
        assert "content-encoding" not in response.headers
        assert body == (CONTENT[:1024] if extra else CONTENT)
