import hashlib
import math
import re
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import find_peaks

from app.audio import processing
from app.audio.markup import Pause, Speech
from app.audio.pcm import FFMPEG, SAMPLE_RATE, AudioSegment, from_samples, to_samples
from app.audio.processing import AudioRejected, Rendition

CEILING = processing.TRUE_PEAK_CEILING_DBTP


def tone(
    seconds: float, *, frequency: float = 440.0, dbfs: float = -12.0, rate: int = SAMPLE_RATE
) -> AudioSegment:
    """A sine tone whose peak sits at dbfs."""
    t = np.arange(round(seconds * rate)) / rate
    return from_samples(10 ** (dbfs / 20) * np.sin(2 * np.pi * frequency * t), rate)


def lufs(audio: AudioSegment) -> float:
    """Integrated loudness measured straight with pyloudnorm, not through the code under test."""
    samples = np.frombuffer(audio.raw_data, dtype="<i2") / 32768.0
    return float(pyloudnorm.Meter(audio.frame_rate).integrated_loudness(samples))


def dominant_hz(audio: AudioSegment) -> float:
    samples = to_samples(audio)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / audio.frame_rate)[spectrum.argmax()])


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_upload(path: Path, seconds: float, *codec: str, volume_db: float = -12.0) -> Path:
    """Write a stereo 44.1 kHz 440 Hz tone (peak -18 dBFS + volume_db) in the given format."""
    source = f"sine=frequency=440:duration={seconds}:sample_rate=44100"
    ffmpeg(
        "-f", "lavfi", "-i", source, "-af", f"volume={volume_db}dB", "-ac", "2", *codec, str(path)
    )
    return path


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak from ffmpeg's own EBU R128 meter."""
    command = [FFMPEG, "-hide_banner", "-nostats", "-i", str(path)]
    command += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    stderr = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    summary = stderr[stderr.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated[1]), float(peak[1])


# --- finishing -------------------------------------------------------------------------


def test_finish_makes_mono_48k_trims_and_hits_loudness() -> None:
    left = tone(12, rate=44100, dbfs=-30)
    padded = AudioSegment.silent(3000, 44100) + left + AudioSegment.silent(3000, 44100)
    stereo = AudioSegment.from_mono_audiosegments(padded, padded)

    finished = processing.finish(stereo)

    assert (finished.channels, finished.frame_rate, finished.sample_width) == (1, SAMPLE_RATE, 2)
    kept = 2 * processing.KEEP_SILENCE_S
    assert len(finished) / 1000 == pytest.approx(12 + kept, abs=0.03)
    assert lufs(finished) == pytest.approx(processing.TARGET_LUFS, abs=0.5)
    samples = to_samples(finished)
    assert np.abs(samples[:100]).max() < 1e-3  # faded in from silence
    assert np.abs(samples[-100:]).max() < 1e-3


def test_finish_limits_peaks_without_losing_loudness() -> None:
    quiet = to_samples(tone(12, dbfs=-30))
    quiet[:: SAMPLE_RATE // 2] = 7 * 10 ** (-30 / 20)  # clicks 17 dB above the tone

    finished = processing.finish(from_samples(quiet))

    assert lufs(finished) == pytest.approx(processing.TARGET_LUFS, abs=0.5)
    tp = processing.loudness.true_peak_dbfs(to_samples(finished))
    assert tp <= CEILING - processing.CODEC_HEADROOM_DB + 0.01


def test_finish_cuts_a_lone_knock_deeply_and_stays_on_target() -> None:
    quiet = to_samples(tone(12, dbfs=-40))
    quiet[SAMPLE_RATE * 6] = 0.9  # one knock 39 dB above the tone

    finished = processing.finish(from_samples(quiet))

    assert lufs(finished) == pytest.approx(processing.TARGET_LUFS, abs=0.5)
    tp = processing.loudness.true_peak_dbfs(to_samples(finished))
    assert tp <= CEILING - processing.CODEC_HEADROOM_DB + 0.01


def test_finish_turns_down_audio_that_limiting_would_squash() -> None:
    quiet = to_samples(tone(12, dbfs=-40))
    quiet[::480] = 0.9  # a buzz of clicks 39 dB above the tone, all the way through

    finished = processing.finish(from_samples(quiet))

    assert lufs(finished) < processing.TARGET_LUFS - 3
    tp = processing.loudness.true_peak_dbfs(to_samples(finished))
    assert tp <= CEILING - processing.CODEC_HEADROOM_DB + 0.01


def test_loudness_gating_ignores_long_silences() -> None:
    """BS.1770 gating: half a minute of silence inside must not make the speech louder."""
    part = tone(5, dbfs=-25)
    gapped = processing.finish(part + AudioSegment.silent(30_000, SAMPLE_RATE) + part)
    plain = processing.finish(part + part)

    assert len(gapped) / 1000 == pytest.approx(40, abs=0.01)  # nothing to trim
    assert lufs(gapped) == pytest.approx(processing.TARGET_LUFS, abs=0.5)
    middle = slice(1 * SAMPLE_RATE, 4 * SAMPLE_RATE)
    assert to_samples(gapped)[middle].std() == pytest.approx(
        to_samples(plain)[middle].std(), rel=0.03
    )  # ungated, the silence would have raised the gain by 6 dB


# --- bell and composition --------------------------------------------------------------


def test_bell_is_soft_decaying_and_inharmonic() -> None:
    chime = processing.bell()
    samples = to_samples(chime)
    peak = np.abs(samples).max()

    assert len(chime) == 4000 and chime.frame_rate == SAMPLE_RATE
    assert np.abs(samples[: SAMPLE_RATE // 200]).max() < 0.15 * peak  # soft onset, no click
    assert np.abs(samples[-SAMPLE_RATE // 100 :]).max() < 1e-3  # ends in silence
    first, last = samples[:SAMPLE_RATE].std(), samples[-SAMPLE_RATE:].std()
    assert 20 * math.log10(first / last) > 20  # a slow decay, not a beep

    spectrum = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    peaks, _ = find_peaks(spectrum, height=spectrum.max() / 100, distance=200)
    partials = frequencies[peaks]
    assert len(partials) >= 3
    ratios = partials[1:] / partials[0]
    assert all(abs(r - round(r)) > 0.1 for r in ratios)  # not a harmonic series


def fake_speaker(texts: Sequence[str]) -> list[AudioSegment]:
    """One second of tone per word, at 22.05 kHz like Piper."""
    return [tone(len(t.split()), rate=22050, dbfs=-10) for t in texts]


def test_compose_frames_speech_and_pauses_with_bells() -> None:
    segments = [Speech("one two"), Speech("three"), Pause(3.0), Speech("four")]

    composed = processing.compose(segments, fake_speaker)

    bell, lead, gap = processing.BELL_SECONDS, processing.LEAD_SILENCE_S, processing.PARAGRAPH_GAP_S
    body = 2 + gap + 1 + 3 + 1
    assert len(composed) / 1000 == pytest.approx(2 * (bell + lead) + body, abs=0.002)
    assert composed.frame_rate == SAMPLE_RATE and composed.channels == 1
    pause_start = bell + lead + 2 + gap + 1
    pause = to_samples(composed)[
        round(pause_start * SAMPLE_RATE) : round((pause_start + 3) * SAMPLE_RATE)
    ]
    assert not pause.any()
    speech_level = to_samples(composed[1000 * (bell + lead) : 1000 * (bell + lead + 2)]).std()
    bell_level = to_samples(composed[:1000]).std()
    assert bell_level < speech_level  # the bell sits under the voice


def test_compose_refuses_a_speaker_that_loses_paragraphs() -> None:
    with pytest.raises(ValueError, match="1 segments for 2 paragraphs"):
        processing.compose([Speech("a"), Speech("b")], lambda texts: fake_speaker(texts[:1]))


def test_render_script_end_to_end(tmp_path: Path) -> None:
    renditions = processing.render_script(
        "One two three.\n\n[pause 2s]\n\nFour.", tmp_path, "practice", speak=fake_speaker
    )
    expected = 2 * (processing.BELL_SECONDS + processing.LEAD_SILENCE_S) + 3 + 2 + 1
    for rendition in renditions:
        # The bell's quiet tail is trimmed, to within the kept breath of silence.
        assert expected - 1.5 < rendition.duration_seconds <= expected + 0.01
        assert rendition.loudness_lufs == pytest.approx(processing.TARGET_LUFS, abs=0.5)


# --- encoding --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_tone() -> AudioSegment:
    return processing.finish(tone(12, dbfs=-20))


@pytest.fixture(scope="module")
def renditions(
    finished_tone: AudioSegment, tmp_path_factory: pytest.TempPathFactory
) -> list[Rendition]:
    return processing.encode(finished_tone, tmp_path_factory.mktemp("encoded"), "tone")


def test_encodes_opus_webm_and_aac_m4a(
    renditions: list[Rendition], finished_tone: AudioSegment
) -> None:
    webm, m4a = renditions
    assert (webm.mime_type, webm.codec, webm.path.suffix) == (
        "audio/webm;codecs=opus",
        "opus",
        ".webm",
    )
    assert (m4a.mime_type, m4a.codec, m4a.path.suffix) == ("audio/mp4", "aac", ".m4a")
    for rendition, kbps in ((webm, (16, 64)), (m4a, (48, 80))):
        data = rendition.path.read_bytes()
        assert rendition.sha256 == hashlib.sha256(data).hexdigest()
        assert rendition.path.name == f"tone.{rendition.sha256[:12]}{rendition.path.suffix}"
        assert rendition.size_bytes == len(data)
        assert rendition.duration_seconds == pytest.approx(len(finished_tone) / 1000, abs=0.03)
        assert rendition.bitrate_kbps == pytest.approx(
            len(data) * 8 / rendition.duration_seconds / 1000
        )
        assert kbps[0] < rendition.bitrate_kbps < kbps[1]
    assert sorted(p.name for p in webm.path.parent.iterdir()) == sorted(
        [webm.path.name, m4a.path.name]
    )  # no temporary files left behind


def test_encoded_files_decode_at_target_loudness_under_peak_ceiling(
    renditions: list[Rendition],
) -> None:
    for rendition in renditions:
        decoded = processing.decode(rendition.path)
        assert lufs(decoded) == pytest.approx(processing.TARGET_LUFS, abs=0.5)
        assert rendition.loudness_lufs == pytest.approx(lufs(decoded), abs=0.01)
        assert rendition.true_peak_dbfs <= CEILING


def test_loudness_and_peak_agree_with_ffmpeg_ebur128(renditions: list[Rendition]) -> None:
    """An independent meter, so the check does not rest on the code that set the gain."""
    for rendition in renditions:
        integrated, true_peak = ebur128(rendition.path)
        assert integrated == pytest.approx(processing.TARGET_LUFS, abs=0.5)
        assert true_peak <= CEILING


def test_m4a_is_streamable_with_moov_before_mdat(renditions: list[Rendition]) -> None:
    data, boxes, offset = renditions[1].path.read_bytes(), [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind.decode())
        offset += size
    assert boxes.index("moov") < boxes.index("mdat")


def test_encoding_is_deterministic(
    finished_tone: AudioSegment, renditions: list[Rendition], tmp_path: Path
) -> None:
    again = processing.encode(finished_tone, tmp_path, "tone")
    assert [r.path.name for r in again] == [r.path.name for r in renditions]


def test_encode_limits_again_when_the_codec_would_pass_the_ceiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = to_samples(tone(12, dbfs=-20))
    for start in range(SAMPLE_RATE, 12 * SAMPLE_RATE, 2 * SAMPLE_RATE):
        samples[start : start + SAMPLE_RATE // 50] *= 10 ** (19.7 / 20)  # bursts at -0.3 dBFS
    audio = from_samples(samples)
    writes: list[str] = []
    real_write = processing._write

    def counting_write(*args: Any) -> tuple[Path, str]:
        writes.append(args[-1].codec)
        return real_write(*args)

    monkeypatch.setattr(processing, "_write", counting_write)

    renditions = processing.encode(audio, tmp_path, "bursts")

    assert writes.count("opus") > 1 and writes.count("aac") > 1
    for rendition in renditions:
        assert rendition.true_peak_dbfs <= CEILING
        assert rendition.loudness_lufs == pytest.approx(lufs(audio), abs=0.3)  # not turned down


@pytest.mark.parametrize("stem", ["", "../escape", "a/b", ".hidden"])
def test_encode_refuses_unsafe_stems(
    finished_tone: AudioSegment, tmp_path: Path, stem: str
) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        processing.encode(finished_tone, tmp_path, stem)


# --- uploads ---------------------------------------------------------------------------

UPLOAD_FORMATS = {
    "wav": ("-c:a", "pcm_s16le"),
    "mp3": ("-c:a", "libmp3lame"),
    "m4a": ("-c:a", "aac"),
    "aac": ("-c:a", "aac", "-f", "adts"),
    "ogg": ("-c:a", "libopus"),
    "opus": ("-c:a", "libopus"),
    "webm": ("-c:a", "libopus"),
    "flac": ("-c:a", "flac"),
}


@pytest.mark.parametrize("suffix", UPLOAD_FORMATS)
def test_decodes_each_upload_format(tmp_path: Path, suffix: str) -> None:
    path = make_upload(tmp_path / f"upload.{suffix}", 1.5, *UPLOAD_FORMATS[suffix])

    decoded = processing.decode(path)

    assert (decoded.channels, decoded.frame_rate, decoded.sample_width) == (1, SAMPLE_RATE, 2)
    assert len(decoded) / 1000 == pytest.approx(1.5, abs=0.06)
    assert dominant_hz(decoded) == pytest.approx(440, abs=2)  # real audio, not garbage
    assert decoded.dBFS > -45


def test_decodes_bytes_and_stops_at_max_seconds(tmp_path: Path) -> None:
    path = make_upload(tmp_path / "upload.m4a", 3, "-c:a", "aac")
    assert len(processing.decode(path.read_bytes())) == pytest.approx(3000, abs=60)
    assert len(processing.decode(path, max_seconds=1)) == pytest.approx(1000, abs=25)


def test_render_recording_finishes_like_speech(tmp_path: Path) -> None:
    quiet = make_upload(tmp_path / "memo.m4a", 12, "-c:a", "aac", volume_db=-20)

    renditions = processing.render_recording(quiet, tmp_path / "out", "memo")

    assert [r.codec for r in renditions] == ["opus", "aac"]
    for rendition in renditions:
        assert rendition.duration_seconds == pytest.approx(12, abs=0.7)
        assert rendition.loudness_lufs == pytest.approx(processing.TARGET_LUFS, abs=0.5)
        assert rendition.true_peak_dbfs <= CEILING


def test_rejects_a_text_file_named_mp3(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp3"
    fake.write_text("These are my notes, not a recording.\n" * 50)
    with pytest.raises(AudioRejected, match="“notes.mp3” is not an audio file we can read"):
        processing.render_recording(fake, tmp_path / "out", "notes")
    with pytest.raises(AudioRejected, match="This file is not an audio file"):
        processing.decode(fake.read_bytes())


def test_rejects_playlists_that_would_open_other_files(tmp_path: Path) -> None:
    make_upload(tmp_path / "inner.wav", 12, "-c:a", "pcm_s16le")
    playlist = tmp_path / "sneaky.m4a"
    playlist.write_text("#EXTM3U\n#EXTINF:12,\ninner.wav\n#EXT-X-ENDLIST\n")
    with pytest.raises(AudioRejected, match="not an audio file"):
        processing.decode(playlist)


def test_rejects_silence(tmp_path: Path) -> None:
    silent = make_upload(tmp_path / "silent.wav", 12, "-c:a", "pcm_s16le", volume_db=-120)
    with pytest.raises(AudioRejected, match="seems to be silent"):
        processing.render_recording(silent, tmp_path / "out", "silent")


def test_rejects_a_five_second_recording(tmp_path: Path) -> None:
    short = make_upload(tmp_path / "short.mp3", 5, "-c:a", "libmp3lame")
    with pytest.raises(AudioRejected, match="only 5 seconds long"):
        processing.render_recording(short, tmp_path / "out", "short")


def test_rejects_recordings_over_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real limit is 90 minutes; a lowered one keeps the test quick.
    monkeypatch.setattr(processing, "MAX_RECORDING_S", 20.0)
    long = make_upload(tmp_path / "long.ogg", 25, "-c:a", "libopus")
    with pytest.raises(AudioRejected, match="longer than 0 minutes"):
        processing.render_recording(long, tmp_path / "out", "long")
    assert not (tmp_path / "out").exists()


def test_long_audio_is_measured_in_pieces_exactly_as_pyloudnorm_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(SAMPLE_RATE * 20) * 0.1).astype(np.float32)
    samples[: SAMPLE_RATE * 6] *= 0.01  # quiet then silent stretches exercise both gates
    samples[SAMPLE_RATE * 9 : SAMPLE_RATE * 12] = 0
    expected = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(samples)

    monkeypatch.setattr(processing.loudness, "_CHUNK_BLOCKS", 37)  # 20 s -> six pieces

    assert processing.loudness.integrated_lufs(samples) == pytest.approx(expected, abs=0.001)
