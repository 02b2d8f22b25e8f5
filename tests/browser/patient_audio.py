"""Real audio for browser tests: a short tone rendered with the bundled ffmpeg, listed as every
exercise's renditions, as `tend audio build` would leave them."""

import hashlib
import subprocess
from pathlib import Path

import imageio_ffmpeg
from sqlalchemy import Engine
from sqlmodel import select

from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.db import open_session, utcnow
from app.programme.models import Exercise

SECONDS = 20
_FORMATS = (
    ("webm", "audio/webm", "opus", ["-c:a", "libopus", "-b:a", "24k"]),
    ("m4a", "audio/mp4", "aac", ["-c:a", "aac", "-b:a", "48k", "-f", "ipod"]),
)


def _render(path: Path, codec_args: list[str]) -> None:
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:duration={SECONDS}",
            "-ac",
            "1",
            *codec_args,
            str(path),
        ],
        check=True,
    )


def install_test_audio(engine: Engine, media_dir: Path) -> None:
    """Give every exercise a ready asset with an Opus and an AAC rendition."""
    media_dir.mkdir(parents=True, exist_ok=True)
    masters = {}
    for ext, _mime, _codec, args in _FORMATS:
        master = media_dir / f"master.{ext}"
        _render(master, args)
        masters[ext] = master.read_bytes()
    with open_session(engine, write=True) as session:
        for exercise in session.exec(select(Exercise)).all():
            asset = AudioAsset(
                exercise_id=exercise.id or 0,
                source=AudioSource.synthetic,
                status=AudioStatus.ready,
                source_sha256="0" * 64,
                pipeline_version="test",
                ready_at=utcnow(),
            )
            session.add(asset)
            session.flush()
            for ext, mime, codec, _args in _FORMATS:
                data = masters[ext]
                digest = hashlib.sha256(data + str(exercise.id).encode()).hexdigest()
                filename = f"{exercise.key}-{digest[:12]}.{ext}"
                (media_dir / filename).write_bytes(data)
                session.add(
                    AudioRendition(
                        asset_id=asset.id or 0,
                        filename=filename,
                        mime_type=mime,
                        codec=codec,
                        bitrate_kbps=24.0,
                        duration_seconds=float(SECONDS),
                        size_bytes=len(data),
                        loudness_lufs=-19.0,
                        true_peak_dbfs=-3.0,
                        sha256=digest,
                    )
                )
        session.commit()
