"""Loudness (ITU-R BS.1770 via pyloudnorm), true peak, and a gentle true-peak limiter."""

import math

import numpy as np
import pyloudnorm
from numpy.typing import NDArray
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from app.audio.pcm import SAMPLE_RATE, Samples

# BS.1770 gating: 400 ms blocks every 100 ms; loudness = -0.691 + 10 log10(mean square).
_BLOCK_S = 0.4
_HOP_S = 0.1
_LUFS_OFFSET = 0.691
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = 10.0
# One minute of blocks per pyloudnorm call, each with one second of filter lead-in.
_CHUNK_BLOCKS = 600
_LEAD_IN_HOPS = 10

# BS.1770-4 Annex 2: 4x oversampling at 48 kHz estimates inter-sample peaks to ~0.5 dB.
_OVERSAMPLE = 4
# Chunks bound the memory the oversampled copy needs; the overlap covers resample_poly's
# filter (10 input samples each side by default) so chunk seams do not show.
_PEAK_CHUNK = 1 << 20
_OVERLAP = 32
# The limiter holds its full gain reduction from 10 ms before a peak to 10 ms after it,
# with 10 ms ramps either side: a few periods of a low voice, so the gain does not follow
# (and distort) single cycles, yet short enough to leave neighbouring syllables alone.
_LIMITER_RAMP_S = 0.010
_ROUNDS = 6
_LOUDNESS_TOLERANCE_LU = 0.1


def integrated_lufs(samples: Samples, rate: int = SAMPLE_RATE) -> float:
    """Measure gated integrated loudness in LUFS (at least 0.4 s of audio); -inf for silence."""
    meter = pyloudnorm.Meter(rate)
    hop, block = round(_HOP_S * rate), round(_BLOCK_S * rate)
    blocks = int(np.round((len(samples) / rate - _BLOCK_S) / _HOP_S)) + 1  # as pyloudnorm counts
    if blocks <= _CHUNK_BLOCKS:
        return float(meter.integrated_loudness(samples))
    # pyloudnorm holds about five float32-sized copies of its input, which for an hour-long
    # recording is gigabytes. Its per-block loudness is kept from one piece at a time (each
    # with a second of lead-in so the weighting filters settle) and gated here as a whole.
    block_lufs: list[float] = []
    for first in range(0, blocks, _CHUNK_BLOCKS):
        last = min(first + _CHUNK_BLOCKS, blocks)
        lead = min(first, _LEAD_IN_HOPS)
        meter.integrated_loudness(samples[(first - lead) * hop : (last - 1) * hop + block])
        block_lufs.extend(meter.blockwise_loudness[lead : lead + last - first])
    return _gated_lufs(np.array(block_lufs))


def _gated_lufs(block_lufs: NDArray[np.float64]) -> float:
    """Apply BS.1770's absolute (-70 LUFS) then relative (-10 LU) gates to block loudness."""
    loud_enough = block_lufs[block_lufs >= _ABSOLUTE_GATE_LUFS]
    if len(loud_enough) == 0:
        return -math.inf
    relative_gate = _mean_lufs(loud_enough) - _RELATIVE_GATE_LU
    return _mean_lufs(loud_enough[loud_enough > relative_gate])


def _mean_lufs(block_lufs: NDArray[np.float64]) -> float:
    """Average blocks as power, as BS.1770 does, and express the mean in LUFS."""
    power = np.power(10.0, (block_lufs + _LUFS_OFFSET) / 10)
    return float(10 * np.log10(power.mean()) - _LUFS_OFFSET)


def true_peak_dbfs(samples: Samples) -> float:
    """Estimate the true (inter-sample) peak in dBFS by 4x oversampling; -inf for silence."""
    peak = float(_true_peak_envelope(samples).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def normalise(
    samples: Samples,
    *,
    target_lufs: float,
    ceiling_dbtp: float,
    max_limiting_lu: float,
    rate: int = SAMPLE_RATE,
) -> Samples:
    """Gain the audio to target_lufs, limiting so its true peak stays at or under ceiling_dbtp.

    Limiting takes loudness away, so the gain is raised and the limiter rerun until the
    loudness is on target. The loudness it takes away measures how much of the audio it
    touches: a knock or a plosive costs almost nothing however deep it is cut, a voice
    squashed all the way through costs several LU. Once limiting would cost more than
    max_limiting_lu the gain stops rising, and the audio ends up quieter than the target
    rather than audibly flattened.
    """
    loudness = integrated_lufs(samples, rate)
    if not math.isfinite(loudness):
        raise ValueError("cannot normalise silence")
    envelope = _true_peak_envelope(samples)
    gain_db = target_lufs - loudness
    # "room" is how much further the gain may rise before it overshoots the target or the
    # limiting budget; it falls steadily as the gain rises, so a secant search on it lands
    # within tolerance in two to four rounds.
    previous: tuple[float, float] | None = None
    for _ in range(_ROUNDS):
        limited = _gain_and_limit(samples, envelope, _db_to_gain(gain_db), ceiling_dbtp, rate)
        reached = integrated_lufs(limited, rate)
        limiting_lu = loudness + gain_db - reached
        room = min(target_lufs - reached, max_limiting_lu - limiting_lu)
        if abs(room) < _LOUDNESS_TOLERANCE_LU:
            break
        step = room
        if previous is not None and previous[1] != room:
            step = room * (gain_db - previous[0]) / (previous[1] - room)
        previous = (gain_db, room)
        gain_db += step
    # The gain is computed per sample but peaks live between samples, so a limited peak can
    # still overshoot by a hair; a last trim makes the ceiling a guarantee.
    del envelope  # an hour of audio takes most of a gigabyte per copy
    overshoot_db = true_peak_dbfs(limited) - ceiling_dbtp
    if overshoot_db > 0:
        limited *= np.float32(_db_to_gain(-overshoot_db))
    return limited


def _gain_and_limit(
    samples: Samples, envelope: Samples, gain: float, ceiling_dbtp: float, rate: int
) -> Samples:
    """Return samples * gain, smoothly turned down wherever a true peak would pass the ceiling."""
    # Work in the ungained scale so no gained copies of samples and envelope are needed.
    ceiling = _db_to_gain(ceiling_dbtp) / gain
    if envelope.max(initial=0.0) <= ceiling:
        gained: Samples = samples * np.float32(gain)
        return gained
    needed = np.ones_like(envelope)
    np.divide(np.float32(ceiling), envelope, out=needed, where=envelope > ceiling)
    # Hold the lowest needed gain for one ramp either side of each peak, then smooth with
    # two box filters (a triangle as wide as the hold). Every weight of that average lies
    # within the hold, so the gain at a peak never rises above what the peak needs;
    # "nearest" keeps that true at the edges.
    ramp = 2 * round(_LIMITER_RAMP_S * rate / 2)
    held = minimum_filter1d(needed, size=2 * ramp + 1)
    uniform_filter1d(held, ramp + 1, mode="nearest", output=needed)
    uniform_filter1d(needed, ramp + 1, mode="nearest", output=held)
    held *= np.float32(gain)
    held *= samples
    return held


def _true_peak_envelope(samples: Samples) -> Samples:
    """Return, for each sample, the largest magnitude among its 4x-oversampled values."""
    envelope = np.empty_like(samples)
    for start in range(0, len(samples), _PEAK_CHUNK):
        stop = min(start + _PEAK_CHUNK, len(samples))
        lead = min(_OVERLAP, start)
        window = samples[start - lead : min(stop + _OVERLAP, len(samples))]
        upsampled = resample_poly(window, _OVERSAMPLE, 1).astype(np.float32)
        core = np.abs(upsampled[lead * _OVERSAMPLE : (lead + stop - start) * _OVERSAMPLE])
        envelope[start:stop] = core.reshape(-1, _OVERSAMPLE).max(axis=1)
    return envelope


def _db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))
