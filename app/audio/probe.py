"""A quick look at an uploaded file before it is queued: is it audio, how long, is it silent.

Pure (no web, no database). It streams the file through the bundled ffmpeg's EBU R128
scanner instead of decoding it into memory, so a 200 MB upload is checked in seconds with
little memory, and the person uploading hears at once what is wrong. The worker later
decodes and checks it again with processing.validate_recording before rendering.
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.audio.pcm import FFMPEG, limit_ffmpeg
from app.audio.processing import (
    MAX_RECORDING_S,
    MIN_RECORDING_S,
    SILENT_LUFS,
    SILENT_PEAK_DBFS,
    AudioRejected,
)

# The same demuxers processing.decode() accepts: playlists (HLS and the like, which make
# ffmpeg open other files) are refused before they are parsed.
UPLOAD_FORMATS = "wav,w64,mp3,mov,ogg,matroska,flac,aac,aiff,caf,amr"
_TIMEOUT_S = 300
_LOUDNESS = re.compile(r"I:\s+(-?[\d.]+|-inf) LUFS")
_PEAK = re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS")
_TIME = re.compile(r"out_time_us=(\d+)")


@dataclass(frozen=True)
class Probe:
    """What a quick scan of a recording found."""

    seconds: float
    loudness_lufs: float
    peak_dbfs: float


def probe_recording(path: Path) -> Probe:
    """Scan a recording; AudioRejected (a message for the uploader) if we cannot use it."""
    command = [FFMPEG, "-nostdin", "-hide_banner", "-nostats"]
    command += ["-format_whitelist", UPLOAD_FORMATS, "-protocol_whitelist", "file"]
    command += ["-i", f"file:{path.resolve()}", "-map", "0:a:0", "-vn"]
    # Reading stops just past the limit: a ten-hour file is refused without scanning it all.
    command += ["-t", f"{MAX_RECORDING_S + 1:.0f}", "-af", "ebur128=peak=sample"]
    command += ["-f", "null", "-", "-progress", "pipe:1"]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT_S, preexec_fn=limit_ffmpeg
        )
    except subprocess.TimeoutExpired as error:
        raise AudioRejected("This file took too long to read as audio.") from error
    times = _TIME.findall(result.stdout)
    loudness = _LOUDNESS.findall(result.stderr)
    peak = _PEAK.findall(result.stderr)
    if result.returncode != 0 or not times or not loudness or not peak:
        raise AudioRejected(
            "This file is not a recording we can read. Please upload a sound file "
            "(WAV, MP3, M4A/AAC, OGG/Opus, WebM or FLAC)."
        )
    found = Probe(int(times[-1]) / 1e6, float(loudness[-1]), float(peak[-1]))
    if found.seconds < MIN_RECORDING_S:
        raise AudioRejected(
            f"This recording is only {found.seconds:.0f} seconds long; "
            f"a practice needs at least {MIN_RECORDING_S:.0f} seconds."
        )
    if found.seconds > MAX_RECORDING_S:
        raise AudioRejected(
            f"This recording is longer than {MAX_RECORDING_S / 60:.0f} minutes; "
            "please trim it or split it into shorter practices."
        )
    if found.peak_dbfs < SILENT_PEAK_DBFS or found.loudness_lufs < SILENT_LUFS:
        raise AudioRejected(
            "This recording seems to be silent. Check that the microphone was on and "
            "not muted, then try again."
        )
    return found
