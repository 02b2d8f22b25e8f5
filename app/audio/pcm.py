"""The one place pydub is set up: bundled ffmpeg, and conversions between segments and samples."""

import math
import resource
import warnings

import imageio_ffmpeg
import numpy as np
from numpy.typing import NDArray
from scipy.signal import resample_poly

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH when imported and warns; there is none on our machines,
    # so the warning is noise: the bundled binary is set as the converter just below.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
AudioSegment.converter = FFMPEG

SAMPLE_RATE = 48_000
# ffmpeg reading an uploaded file runs under these limits: a crafted file that makes a decoder
# spin or balloon is killed by the kernel instead of starving the server. A ten-minute
# recording decodes in seconds and well under 200 MB.
FFMPEG_CPU_SECONDS = 300
FFMPEG_MEMORY_BYTES = 1 << 30


def limit_ffmpeg() -> None:
    """Runs in the ffmpeg child before it starts (subprocess ``preexec_fn``): CPU and memory."""
    resource.setrlimit(resource.RLIMIT_CPU, (FFMPEG_CPU_SECONDS, FFMPEG_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (FFMPEG_MEMORY_BYTES, FFMPEG_MEMORY_BYTES))


_INT16_SCALE = 32768.0

Samples = NDArray[np.float32]


def to_samples(audio: AudioSegment) -> Samples:
    """Return a 16-bit mono segment's samples as floats in [-1, 1)."""
    if audio.sample_width != 2 or audio.channels != 1:
        raise ValueError("expected 16-bit mono audio; call standardise() first")
    pcm = np.frombuffer(audio.raw_data, dtype="<i2")
    return pcm.astype(np.float32) / np.float32(_INT16_SCALE)


def from_samples(samples: NDArray[np.floating], rate: int = SAMPLE_RATE) -> AudioSegment:
    """Build a 16-bit mono segment from float samples, clipping anything beyond full scale."""
    scaled = samples * _INT16_SCALE
    # In place: for an hour of audio each temporary copy would be most of a gigabyte.
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768, 32767, out=scaled)
    pcm = scaled.astype("<i2")
    return AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=rate, channels=1)


def standardise(audio: AudioSegment) -> AudioSegment:
    """Return the audio as 16-bit mono at 48 kHz, resampled with a proper anti-alias filter."""
    if audio.channels != 1:
        audio = audio.set_channels(1)
    if audio.sample_width != 2:
        audio = audio.set_sample_width(2)
    if audio.frame_rate == SAMPLE_RATE:
        return audio
    # pydub's own resampler (audioop.ratecv) does no anti-alias filtering; a polyphase filter
    # keeps 22.05 kHz speech clean on its way to 48 kHz.
    ratio = math.gcd(SAMPLE_RATE, audio.frame_rate)
    resampled = resample_poly(to_samples(audio), SAMPLE_RATE // ratio, audio.frame_rate // ratio)
    return from_samples(resampled)


def silence(seconds: float) -> AudioSegment:
    """Return digital silence in the standard format."""
    return from_samples(np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32))
