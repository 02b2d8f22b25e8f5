"""Listen-check a rendition by measuring it: length against the script's estimate, loudness,
and how much of it is silence (the script's pauses), with ffmpeg's own filters.

    TEND_DATA_DIR=/tmp/audio-build-data .venv/bin/python bench/audio_listen_check.py body-scan-10
"""

import re
import subprocess
import sys

from sqlmodel import col, select

from app.audio.markup import Pause, estimate_seconds, parse_script
from app.audio.models import AudioAsset, AudioRendition, AudioStatus
from app.audio.pcm import FFMPEG
from app.config import get_settings
from app.db import create_db_engine, open_session
from app.programme.models import Exercise


def main(key: str) -> None:
    settings = get_settings()
    with open_session(create_db_engine(settings.resolved_database_url)) as session:
        exercise = session.exec(select(Exercise).where(Exercise.key == key)).one()
        asset = session.exec(
            select(AudioAsset).where(
                AudioAsset.exercise_id == exercise.id,
                AudioAsset.status == AudioStatus.ready,
                col(AudioAsset.clinic_id).is_(None),
            )
        ).one()
        renditions = session.exec(
            select(AudioRendition).where(AudioRendition.asset_id == asset.id)
        ).all()
    segments = parse_script(exercise.script)
    pauses = sum(s.seconds for s in segments if isinstance(s, Pause))
    print(
        f"{key}: script says {exercise.minutes} min; estimate at 130 wpm "
        f"{estimate_seconds(segments):.0f} s, of which {pauses:.0f} s are [pause] markup"
    )
    for r in renditions:
        path = settings.media_dir / r.filename
        out = subprocess.run(
            [
                FFMPEG,
                "-nostdin",
                "-nostats",
                "-i",
                str(path),
                "-af",
                "silencedetect=noise=-45dB:d=0.5,ebur128=peak=true",
                "-f",
                "null",
                "-",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        silent = sum(float(x) for x in re.findall(r"silence_duration: ([\d.]+)", out))
        h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", out)[-1]
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
        lufs = re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1]
        lra = re.findall(r"LRA:\s+([\d.]+) LU", out)[-1]
        peak = re.findall(r"Peak:\s+(-?[\d.]+) dBFS", out)[-1]
        print(
            f"  {r.codec}: {seconds:.1f} s, {lufs} LUFS, LRA {lra} LU, true peak {peak} dBTP, "
            f"silence (< -45 dBFS for >= 0.5 s) {silent:.0f} s = {100 * silent / seconds:.0f} %, "
            f"{r.size_bytes / 1e6:.2f} MB at {r.bitrate_kbps:.1f} kbit/s"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "body-scan-10")
