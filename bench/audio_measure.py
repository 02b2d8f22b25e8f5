"""Measure every rendered exercise independently of the code that produced it.

Loudness and true peak come from ffmpeg's own EBU R128 meter (`ebur128=peak=true`) run on
the encoded files; duration from ffmpeg decoding them; sizes from the file system. The
database is read only to name the files. Prints a Markdown table and the target checks.

    TEND_DATA_DIR=/tmp/audio-build-data .venv/bin/python bench/audio_measure.py
"""

import re
import subprocess
import sys
from pathlib import Path

from sqlmodel import col, select

from app.audio.markup import estimate_seconds, parse_script
from app.audio.models import AudioAsset, AudioRendition, AudioStatus
from app.audio.pcm import FFMPEG
from app.config import get_settings
from app.db import create_db_engine, open_session
from app.programme import service as programme_service

TARGET, TOLERANCE, CEILING = -16.0, 1.0, -1.0


def ebur128(path: Path) -> tuple[float, float, float]:
    """(integrated LUFS, true peak dBTP, seconds) as ffmpeg measures the file."""
    out = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    lufs = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", out)[-1])
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", out)[-1]
    return lufs, peak, int(h) * 3600 + int(m) * 60 + float(s)


def main() -> int:
    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    rows, problems = [], []
    with open_session(engine) as session:
        for exercise, weeks in programme_service.exercises_in_week_order(session):
            asset = session.exec(
                select(AudioAsset)
                .where(
                    AudioAsset.exercise_id == exercise.id,
                    col(AudioAsset.clinic_id).is_(None),
                    AudioAsset.status == AudioStatus.ready,
                )
                .order_by(col(AudioAsset.id).desc())
            ).first()
            if asset is None:
                rows.append((exercise, weeks, None, {}))
                continue
            found = {}
            for r in session.exec(
                select(AudioRendition).where(AudioRendition.asset_id == asset.id)
            ):
                path = settings.media_dir / r.filename
                lufs, peak, seconds = ebur128(path)
                found[r.codec] = (path.stat().st_size, lufs, peak, seconds)
                if abs(lufs - TARGET) > TOLERANCE or peak > CEILING:
                    problems.append(f"{r.filename}: {lufs} LUFS, {peak} dBTP")
            rows.append((exercise, weeks, asset, found))
    columns = (
        "week",
        "exercise",
        "minutes (script says)",
        "estimate at 130 wpm",
        "rendered",
        "Opus/WebM",
        "AAC/M4A",
        "LUFS (Opus / AAC)",
        "true peak dBTP (Opus / AAC)",
    )
    print("| " + " | ".join(columns) + " |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for exercise, weeks, _asset, found in rows:
        estimate = estimate_seconds(parse_script(exercise.script))
        head = (
            f"| {','.join(map(str, weeks))} | {exercise.key} | {exercise.minutes} "
            f"| {estimate / 60:.1f} min "
        )
        if not found:
            print(head + "| not built yet | | | | |")
            continue
        o, a = found["opus"], found["aac"]
        print(
            head + f"| {int(o[3] // 60)}:{o[3] % 60:04.1f} | {o[0] / 1e6:.2f} MB "
            f"| {a[0] / 1e6:.2f} MB | {o[1]:.1f} / {a[1]:.1f} | {o[2]:.1f} / {a[2]:.1f} |"
        )
    built = [f for *_, f in rows if f]
    print(
        f"\n{len(built)} of {len(rows)} exercises rendered; "
        f"{sum(len(f) for f in built)} renditions measured; "
        f"{len(problems)} outside -16 +-1 LUFS or above -1 dBTP."
    )
    for problem in problems:
        print("  ", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
