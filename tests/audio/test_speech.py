"""Speech on real engines: the Piper voice, and espeak-ng as the fallback.

A missing engine skips its tests, unless TEND_REQUIRE_SPEECH=1 (set by .ci/run), which makes
it a failure, as PostgreSQL and Chromium are there.
"""

import os
import shutil
from pathlib import Path

import pytest

from app.audio import processing, speech
from app.audio.pcm import SAMPLE_RATE, AudioSegment

PARAGRAPHS = [
    "Settle into a comfortable position, and let your eyes close if that feels right.",
    "Breathe.",
]

REQUIRE_SPEECH = os.environ.get("TEND_REQUIRE_SPEECH") == "1"


def _missing(reason: str) -> None:
    if REQUIRE_SPEECH:
        pytest.fail(f"speech is required here (TEND_REQUIRE_SPEECH=1): {reason}")
    pytest.skip(reason)


@pytest.fixture
def piper_voice() -> None:
    if speech._piper_model() is None:
        _missing("piper voice not installed")


@pytest.fixture
def espeak() -> None:
    if shutil.which("espeak-ng") is None:
        _missing("no espeak-ng")


needs_piper = pytest.mark.usefixtures("piper_voice")
needs_espeak = pytest.mark.usefixtures("espeak")


def _assert_spoken(audio: AudioSegment, words: int) -> None:
    assert (audio.frame_rate, audio.channels, audio.sample_width) == (SAMPLE_RATE, 1, 2)
    seconds = len(audio) / 1000
    # A calm pace is 100-170 words a minute; allow for short leading and trailing silence.
    assert words * 60 / 200 < seconds < words * 60 / 80 + 1.5
    assert audio.dBFS > -40


@needs_piper
def test_piper_speaks_each_paragraph_in_order() -> None:
    first, second = speech.synthesise(PARAGRAPHS)
    _assert_spoken(first, len(PARAGRAPHS[0].split()))
    assert len(second) < len(first) / 3
    assert "piper" in speech.voice_id() and "joe" in speech.voice_id()


@needs_espeak
def test_falls_back_to_espeak_without_piper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech, "_piper_model", lambda: None)
    [spoken] = speech.synthesise(["-Options are not read from text: " + PARAGRAPHS[0]])
    _assert_spoken(spoken, len(PARAGRAPHS[0].split()) + 6)
    assert speech.voice_id().startswith("espeak-ng ")


def test_names_both_engines_when_neither_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech, "_piper_model", lambda: None)
    monkeypatch.setattr(speech.shutil, "which", lambda _name: None)
    with pytest.raises(speech.SpeechUnavailable, match="Piper.*espeak-ng"):
        speech.synthesise(PARAGRAPHS)
    with pytest.raises(speech.SpeechUnavailable):
        speech.voice_id()


def test_refuses_empty_paragraphs() -> None:
    assert speech.synthesise([]) == []
    with pytest.raises(ValueError, match="needs some text"):
        speech.synthesise(["Hello.", "  "])


@needs_piper
@pytest.mark.slow
def test_rendered_piper_speech_meets_loudness_and_peak_targets(tmp_path: Path) -> None:
    """The real voice is far peakier than test tones: it must still land on target."""
    script = PARAGRAPHS[0] + "\n\n[pause 2s]\n\nLet each breath be an act of care."

    renditions = processing.render_script(script, tmp_path, "practice")

    for rendition in renditions:
        assert rendition.loudness_lufs == pytest.approx(processing.TARGET_LUFS, abs=0.5)
        assert rendition.true_peak_dbfs <= processing.TRUE_PEAK_CEILING_DBTP
        assert 15 < rendition.duration_seconds < 30
