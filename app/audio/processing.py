"""Pure audio processing: decode, compose a practice, finish to a loudness target, encode.

No web and no database here: other layers call these functions, in a worker, never inside
an async request handler (rendering a 10-minute practice takes seconds of CPU).
"""

import hashlib
import math
import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.audio import loudness
from app.audio.markup import Pause, Segment, Speech, parse_script
from app.audio.pcm import (
    FFMPEG,
    SAMPLE_RATE,
    AudioSegment,
    Samples,
    from_samples,
    limit_ffmpeg,
    silence,
    standardise,
    to_samples,
)
from app.audio.speech import synthesise

# Bump whenever a change here alters the audio produced: it is part of every cache key.
pipeline_version = "1"

TARGET_LUFS = -16.0
# The promise on delivered files is a true peak at or under -1 dBTP. Lossy encoding adds
# overshoot (Opus 0.3 to 0.5 dB, AAC up to 2 dB measured on limited speech), so finish()
# aims lower and encode() limits again in the rarer cases that still pass the ceiling.
TRUE_PEAK_CEILING_DBTP = -1.0
CODEC_HEADROOM_DB = 0.8
# A rendition that still overshoots is limited harder and encoded again.
_ENCODE_ATTEMPTS = 4
# The piper voice has a peak-to-loudness ratio near 20 dB: reaching -16 LUFS under the
# ceiling takes 9 to 11 dB off its highest peaks, which costs 3 to 4 LU of loudness. Audio
# that would lose more than this to limiting is turned down instead (loudness.normalise()).
MAX_LIMITING_LU = 5.0

MIN_RECORDING_S = 10.0
MAX_RECORDING_S = 90 * 60.0
SILENT_LUFS = -60.0
SILENT_PEAK_DBFS = -50.0

BELL_SECONDS = 4.0
# The bell sits a little under the voice so it invites attention without startling.
BELL_BELOW_SPEECH_LU = 5.0
LEAD_SILENCE_S = 2.0
PARAGRAPH_GAP_S = 0.8

KEEP_SILENCE_S = 0.3
FADE_IN_S = 0.3
FADE_OUT_S = 1.0
# 10 ms frames quieter than the loudest frame by this much count as silence when trimming.
_TRIM_BELOW_PEAK_DB = 40.0
_FRAME = SAMPLE_RATE // 100

# Demuxers an upload may use. Anything else (playlists such as HLS in particular, which can
# make ffmpeg open other files) is refused before it is parsed.
_UPLOAD_FORMATS = "wav,w64,mp3,mov,ogg,matroska,flac,aac,aiff,caf,amr"
_DECODE_TIMEOUT_S = 600

# A speaker gets every paragraph at once, so an engine loads its voice once per script.
Speaker = Callable[[Sequence[str]], list[AudioSegment]]


class AudioRejected(ValueError):
    """An uploaded recording we cannot use; the message is written for the person uploading."""


@dataclass(frozen=True)
class Rendition:
    """One encoded file of a practice, with properties measured from the file itself."""

    path: Path
    mime_type: str
    codec: str
    bitrate_kbps: float
    duration_seconds: float
    size_bytes: int
    loudness_lufs: float
    true_peak_dbfs: float
    sha256: str


@dataclass(frozen=True)
class _Encoding:
    suffix: str
    mime_type: str
    codec: str
    export_format: str
    encoder: str
    bitrate: str
    parameters: tuple[str, ...]


# "+bitexact" leaves out random stream IDs and the encoder version, so the same audio
# always encodes to the same bytes and so to the same content-hashed name.
_BITEXACT = ("-fflags", "+bitexact", "-flags:a", "+bitexact")
_ENCODINGS = (
    _Encoding("webm", "audio/webm;codecs=opus", "opus", "webm", "libopus", "32k", _BITEXACT),
    # faststart moves the moov atom to the front so playback can start while downloading.
    _Encoding(
        "m4a", "audio/mp4", "aac", "ipod", "aac", "64k", (*_BITEXACT, "-movflags", "+faststart")
    ),
)


def decode(
    source: str | os.PathLike[str] | bytes, *, max_seconds: float | None = None
) -> AudioSegment:
    """Decode any audio ffmpeg reads to 16-bit mono 48 kHz; AudioRejected if it cannot."""
    if isinstance(source, bytes):
        # A file, not a pipe: MP4 from phones often puts its index at the end, which needs seeking.
        with tempfile.NamedTemporaryFile(prefix="tend-upload-") as upload:
            upload.write(source)
            upload.flush()
            return _decode_file(Path(upload.name), "This file", max_seconds)
    path = Path(source)
    if not path.is_file():
        # A missing file is the caller's mistake, not something to tell the uploader.
        raise FileNotFoundError(path)
    return _decode_file(path, f"“{path.name}”", max_seconds)


def _decode_file(path: Path, name: str, max_seconds: float | None) -> AudioSegment:
    command = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-format_whitelist", _UPLOAD_FORMATS, "-protocol_whitelist", "file"]
    # "file:" keeps a name such as "concat:a|b" or "-x" from being read as anything but a path.
    command += ["-i", f"file:{path.resolve()}", "-map", "0:a:0"]
    if max_seconds is not None:
        command += ["-t", f"{max_seconds:.3f}"]
    command += ["-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"]
    try:
        result = subprocess.run(
            command, capture_output=True, timeout=_DECODE_TIMEOUT_S, preexec_fn=limit_ffmpeg
        )
    except subprocess.TimeoutExpired as error:
        raise AudioRejected(f"{name} took too long to read as audio.") from error
    # Two bytes per sample: ffmpeg never writes half a sample, but a cut-off stream might.
    pcm = result.stdout[: len(result.stdout) // 2 * 2]
    if result.returncode != 0 or not pcm:
        raise AudioRejected(f"{name} is not an audio file we can read.")
    return AudioSegment(data=pcm, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)


def bell(duration_s: float = BELL_SECONDS) -> AudioSegment:
    """Synthesise a soft singing-bowl strike: inharmonic partials, slow decay, gentle onset."""
    t = np.arange(round(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    fundamental = 220.0
    # Partial ratios of a struck bowl are inharmonic (roughly 1 : 2.7 : 5.2 : 8.4); higher
    # partials are quieter and die away sooner, which is what makes the tone mellow.
    partials = ((1.0, 1.0), (2.71, 0.45), (5.18, 0.18), (8.43, 0.07))
    tone = np.zeros_like(t)
    for index, (ratio, amplitude) in enumerate(partials):
        frequency = fundamental * ratio
        decay = np.exp(-t * (2.5 + 2.0 * index) / duration_s)
        # Each mode is split in two slightly detuned ones, giving the slow shimmer of a bowl.
        beating = np.sin(2 * np.pi * frequency * 0.9985 * t) + np.sin(2 * np.pi * frequency * t)
        tone += amplitude * decay * beating / 2
    # A soft mallet: a 30 ms raised-cosine onset instead of a click, and a fade to true silence.
    onset = np.minimum(1.0, t / 0.030)
    tail = np.clip((duration_s - t) / (0.3 * duration_s), 0.0, 1.0)
    envelope = (0.5 - 0.5 * np.cos(np.pi * onset)) * (0.5 - 0.5 * np.cos(np.pi * tail))
    tone *= envelope
    return from_samples(0.25 * tone / np.abs(tone).max())


def compose(segments: Sequence[Segment], speak: Speaker) -> AudioSegment:
    """Assemble a practice: bell, silence, the spoken paragraphs and pauses, silence, bell."""
    texts = [s.text for s in segments if isinstance(s, Speech)]
    voices = [standardise(v) for v in speak(texts)] if texts else []
    if len(voices) != len(texts):
        raise ValueError(f"the speaker returned {len(voices)} segments for {len(texts)} paragraphs")
    spoken = iter(voices)
    parts: list[AudioSegment] = []
    previous: Segment | None = None
    for segment in segments:
        if isinstance(segment, Pause):
            parts.append(silence(segment.seconds))
        else:
            if isinstance(previous, Speech):
                parts.append(silence(PARAGRAPH_GAP_S))
            parts.append(next(spoken))
        previous = segment
    chime = _levelled_bell(parts)
    lead = silence(LEAD_SILENCE_S)
    return _concatenate([chime, lead, *parts, lead, chime])


def _levelled_bell(parts: Sequence[AudioSegment]) -> AudioSegment:
    """Return the bell levelled against the speech, so it suits any voice or recording level."""
    chime = bell()
    body = to_samples(_concatenate(parts)) if parts else np.zeros(0, dtype=np.float32)
    speech_lufs = loudness.integrated_lufs(body) if len(body) >= SAMPLE_RATE else -math.inf
    if not math.isfinite(speech_lufs):
        return chime
    chime_lufs = loudness.integrated_lufs(to_samples(chime))
    return chime.apply_gain(speech_lufs - BELL_BELOW_SPEECH_LU - chime_lufs)


def _concatenate(parts: Sequence[AudioSegment]) -> AudioSegment:
    # One join instead of repeated "+": pydub copies the whole result on every addition.
    data = b"".join(part.raw_data for part in parts)
    return AudioSegment(data=data, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)


def finish(audio: AudioSegment) -> AudioSegment:
    """Make mono 48 kHz, trim end silence, fade, and set -16 LUFS with true peaks <= -1.8 dBTP."""
    samples = _trim(to_samples(standardise(audio)))
    _fade(samples)
    finished = loudness.normalise(
        samples,
        target_lufs=TARGET_LUFS,
        ceiling_dbtp=TRUE_PEAK_CEILING_DBTP - CODEC_HEADROOM_DB,
        max_limiting_lu=MAX_LIMITING_LU,
    )
    return from_samples(finished)


def _trim(samples: Samples) -> Samples:
    """Cut leading and trailing silence, keeping a short breath of it at each end."""
    frames = len(samples) // _FRAME
    if frames == 0:
        return samples
    power = np.square(samples[: frames * _FRAME].reshape(frames, _FRAME), dtype=np.float64)
    with np.errstate(divide="ignore"):
        level_db = 10 * np.log10(power.mean(axis=1))
    audible = np.flatnonzero(level_db > level_db.max() - _TRIM_BELOW_PEAK_DB)
    if len(audible) == 0:
        return samples
    keep = round(KEEP_SILENCE_S * SAMPLE_RATE)
    start = max(0, audible[0] * _FRAME - keep)
    stop = min(len(samples), (audible[-1] + 1) * _FRAME + keep)
    return samples[start:stop]


def _fade(samples: Samples) -> None:
    """Apply raised-cosine fades in place, so neither end starts or stops with a click."""
    for seconds, at_start in ((FADE_IN_S, True), (FADE_OUT_S, False)):
        length = min(len(samples) // 2, round(seconds * SAMPLE_RATE))
        curve = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))).astype(np.float32)
        if at_start:
            samples[:length] *= curve
        elif length:
            samples[-length:] *= curve[::-1]


def validate_recording(audio: AudioSegment) -> None:
    """Refuse an uploaded recording that is too short, too long, or silent."""
    seconds = len(audio) / 1000
    if seconds < MIN_RECORDING_S:
        raise AudioRejected(
            f"This recording is only {int(seconds)} seconds long; "
            f"a practice needs at least {MIN_RECORDING_S:.0f} seconds."
        )
    if seconds > MAX_RECORDING_S:
        raise AudioRejected(
            f"This recording is longer than {MAX_RECORDING_S / 60:.0f} minutes; "
            "please trim it or split it into shorter practices."
        )
    samples = to_samples(standardise(audio))
    peak = float(np.abs(samples).max())
    peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_dbfs < SILENT_PEAK_DBFS or loudness.integrated_lufs(samples) < SILENT_LUFS:
        raise AudioRejected(
            "This recording seems to be silent. Check that the microphone was on and "
            "not muted, then try again."
        )


def encode(audio: AudioSegment, out_dir: str | os.PathLike[str], stem: str) -> list[Rendition]:
    """Write Opus/WebM and AAC/M4A renditions named <stem>.<12 hex of sha256>.<ext>."""
    if not stem or Path(stem).name != stem or stem.startswith("."):
        raise ValueError(f"stem must be a plain file name, got {stem!r}")
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    return [_encode_one(audio, directory, stem, encoding) for encoding in _ENCODINGS]


def _encode_one(audio: AudioSegment, directory: Path, stem: str, encoding: _Encoding) -> Rendition:
    """Encode and measure one rendition, limiting harder if the codec pushed a peak too high."""
    ceiling_dbtp = TRUE_PEAK_CEILING_DBTP - CODEC_HEADROOM_DB
    for _ in range(_ENCODE_ATTEMPTS):
        path, sha256 = _write(audio, directory, stem, encoding)
        rendition = _measure(path, encoding, sha256)
        overshoot_db = rendition.true_peak_dbfs - TRUE_PEAK_CEILING_DBTP
        if overshoot_db <= 0:
            return rendition
        path.unlink()
        # AAC at 64 kbps overshoots by up to 2 dB on limited speech, and by a different amount
        # each time. Limiting harder keeps the loudness; turning the file down would lose it.
        ceiling_dbtp -= overshoot_db + 0.2
        samples = to_samples(audio)
        audio = from_samples(
            loudness.normalise(
                samples,
                target_lufs=loudness.integrated_lufs(samples),
                ceiling_dbtp=ceiling_dbtp,
                max_limiting_lu=MAX_LIMITING_LU,
            )
        )
    raise RuntimeError(f"{encoding.codec} encoding kept peaks above {TRUE_PEAK_CEILING_DBTP} dBTP")


def _write(
    audio: AudioSegment, directory: Path, stem: str, encoding: _Encoding
) -> tuple[Path, str]:
    """Export under a hidden temporary name, then rename to the content-hashed name."""
    # A reader never sees half a file: the final name only ever holds complete bytes.
    partial = directory / f".{stem}.{uuid.uuid4().hex}.partial.{encoding.suffix}"
    try:
        handle = audio.export(
            str(partial),
            format=encoding.export_format,
            codec=encoding.encoder,
            bitrate=encoding.bitrate,
            parameters=list(encoding.parameters),
        )
        handle.close()
        with partial.open("rb") as written:
            sha256 = hashlib.file_digest(written, "sha256").hexdigest()
        path = directory / f"{stem}.{sha256[:12]}.{encoding.suffix}"
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path, sha256


def _measure(path: Path, encoding: _Encoding, sha256: str) -> Rendition:
    """Describe an encoded file from what decoding it gives back, not from encoder settings."""
    samples = to_samples(decode(path))
    duration = len(samples) / SAMPLE_RATE
    size = path.stat().st_size
    return Rendition(
        path=path,
        mime_type=encoding.mime_type,
        codec=encoding.codec,
        bitrate_kbps=size * 8 / duration / 1000,
        duration_seconds=duration,
        size_bytes=size,
        loudness_lufs=loudness.integrated_lufs(samples),
        true_peak_dbfs=loudness.true_peak_dbfs(samples),
        sha256=sha256,
    )


def render_script(
    script_text: str,
    out_dir: str | os.PathLike[str],
    stem: str,
    speak: Speaker = synthesise,
) -> list[Rendition]:
    """Turn a marked-up script into finished, encoded renditions of the spoken practice."""
    return encode(finish(compose(parse_script(script_text), speak)), out_dir, stem)


def render_recording(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str], stem: str
) -> list[Rendition]:
    """Turn an uploaded recording into renditions, finished exactly like synthesised speech."""
    # Decoding stops just past the limit, so a ten-hour file is refused without holding it all.
    audio = decode(path, max_seconds=MAX_RECORDING_S + 1)
    validate_recording(audio)
    return encode(finish(audio), out_dir, stem)
