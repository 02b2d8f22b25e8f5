"""The admin's audio page on a phone: accessible, and a bad upload explained by its field."""

import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.audio.pcm import FFMPEG
from app.db import open_session
from app.programme.models import Exercise
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, World


def _shipped_audio(engine: Engine) -> None:
    with open_session(engine, write=True) as session:
        for exercise in session.exec(select(Exercise)).all():
            asset = AudioAsset(
                exercise_id=exercise.id or 0,
                source=AudioSource.synthetic,
                status=AudioStatus.ready,
                source_sha256=exercise.script_sha256,
                pipeline_version="1",
            )
            session.add(asset)
            session.flush()
            seconds = exercise.minutes * 60.0
            for codec, mime, kbps, ext in (
                ("opus", "audio/webm;codecs=opus", 32.4, "webm"),
                ("aac", "audio/mp4", 64.8, "m4a"),
            ):
                session.add(
                    AudioRendition(
                        asset_id=asset.id or 0,
                        filename=f"{exercise.key}-{asset.id}.0123456789ab.{ext}",
                        mime_type=mime,
                        codec=codec,
                        bitrate_kbps=kbps,
                        duration_seconds=seconds,
                        size_bytes=round(seconds * kbps * 125),
                        loudness_lufs=-16.1,
                        true_peak_dbfs=-1.4,
                        sha256="0" * 64,
                    )
                )
        session.commit()


def test_admin_audio_page_is_accessible_and_explains_a_bad_upload(
    live_server: str, phone: Any, browser_engine: Engine, tmp_path: Path, world: World
) -> None:
    _shipped_audio(browser_engine)
    short = tmp_path / "hello.wav"
    subprocess.run(
        [FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i", "sine=d=4", "-y", str(short)],
        check=True,
    )
    page = phone.new_page()
    sign_in(page, live_server, "admin@one.example", PASSWORD)
    page.goto(f"{live_server}/admin/audio")
    assert "Playing now: the shipped voice" in page.inner_text("main")
    assert_accessible(page)

    field = page.get_by_label("Upload your own recording of “Soothing breathing”")
    field.set_input_files(str(short))
    field.locator("xpath=ancestor::form").get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert "only 4 seconds long" in page.inner_text("main")
    assert_accessible(page)
    screenshot(page, "admin-audio")
