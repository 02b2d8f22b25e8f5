"""Pre-post statistics for a group: paired t, standardised mean changes and their intervals,
Spearman's rho with an exact p for small groups, and Holm's adjustment.

Formulas and references are in docs/instruments.md ("Statistics").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import special, stats

CONFIDENCE = 0.95
# Up to this many pairs Spearman's p is exact (every pairing counted); above it, SciPy's t
# approximation is close enough (at n = 5 and rho = 0.9 it says 0.037; the exact p is 0.083).
EXACT_SPEARMAN_UP_TO = 10
INTERVAL_METHOD = "approximate 95% CI (Algina & Keselman 2003)"


@dataclass(frozen=True)
class PairedSummary:
    """Pre-post summary with the outcome-summary CONTRACT's field names and natural signs."""

    n_pairs: int
    pre_mean: float | None
    pre_sd: float | None
    post_mean: float | None
    post_sd: float | None
    mean_change: float | None
    mean_change_ci: tuple[float, float] | None
    t: float | None
    p: float | None
    d_av: float | None
    d_av_ci: tuple[float, float] | None
    g_av: float | None
    g_av_ci: tuple[float, float] | None
    d_z: float | None
    higher_is_better: bool
    too_few: bool

    def contract_fields(self) -> dict[str, Any]:
        """The CONTRACT fields as JSON-ready values (intervals as ``[low, high]`` lists)."""
        fields = asdict(self)
        del fields["too_few"]
        for name in ("mean_change_ci", "d_av_ci", "g_av_ci"):
            if fields[name] is not None:
                fields[name] = list(fields[name])
        return fields


class Correlation(NamedTuple):
    """Spearman's rank correlation; rho and p are None when it cannot be estimated."""

    rho: float | None
    p: float | None
    n: int


def hedges_j(df: int) -> float:
    """Hedges' (1981) small-sample correction, the approximation 1 - 3 / (4 df - 1)."""
    return 1 - 3 / (4 * df - 1)


def _sd(values: np.ndarray) -> float | None:
    return float(np.std(values, ddof=1)) if len(values) >= 2 else None


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _as_pairs(pre: Sequence[float], post: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    if len(pre) != len(post):
        raise ValueError(f"pre has {len(pre)} values but post has {len(post)}")
    before, after = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    if not (np.all(np.isfinite(before)) and np.all(np.isfinite(after))):
        raise ValueError("pre and post must be finite numbers (drop incomplete pairs first)")
    return before, after


def _noncentrality(t: np.ndarray, df: np.ndarray, p: float) -> np.ndarray:
    """The noncentrality under which ``t`` sits at the ``p`` quantile of a noncentral t."""
    nc = special.nctdtrinc(df, p, t)
    # nctdtrinc alone is off by up to ~1e-6 in probability far out (t = -60 on 100 df); one
    # Newton step on the cdf brings every case we tried to within 1e-12.
    miss = special.nctdtr(df, nc, t) - p
    step = 1e-6 * np.maximum(1.0, np.abs(nc))
    slope = (special.nctdtr(df, nc + step, t) - (miss + p)) / step
    nc = nc - miss / slope
    return np.asarray(nc, dtype=float)


def noncentrality_interval(
    t: float, df: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The noncentrality parameters under which ``t`` sits at the upper and lower tail quantiles."""
    low, high = noncentrality_intervals(np.asarray(t, float), np.asarray(df, float), confidence)
    return float(low), float(high)


def noncentrality_intervals(
    t: np.ndarray, df: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """``noncentrality_interval`` for arrays of t and df at once."""
    tail = (1 - confidence) / 2
    return _noncentrality(t, df, 1 - tail), _noncentrality(t, df, tail)


def d_av_intervals(
    before: np.ndarray, after: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate CI for the population d_av of paired samples along the last axis (Algina &
    Keselman 2003): the exact noncentral-t interval for d_z, rescaled by sd(c) / sd_av.

    d_av and g_av estimate the same population effect size, so this is the interval for both;
    shrinking it by Hedges' J made it cover too little (0.92-0.94 at n = 6-10)."""
    change = after - before
    n = change.shape[-1]
    sd_change = np.std(change, axis=-1, ddof=1)
    sd_av = (np.std(before, axis=-1, ddof=1) + np.std(after, axis=-1, ddof=1)) / 2
    t = np.mean(change, axis=-1) / (sd_change / math.sqrt(n))
    low, high = noncentrality_intervals(t, np.full_like(t, n - 1), confidence)
    scale = sd_change / sd_av / math.sqrt(n)
    return low * scale, high * scale


def _inference(before: np.ndarray, after: np.ndarray, sd_av: float) -> dict[str, Any]:
    change = after - before
    n = len(change)
    df = n - 1
    mean, sd_change = float(np.mean(change)), float(np.std(change, ddof=1))
    half_width = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * sd_change / math.sqrt(n)
    result: dict[str, Any] = {
        "mean_change_ci": (mean - half_width, mean + half_width),
        "d_av": mean / sd_av if sd_av > 0 else None,
    }
    result["g_av"] = result["d_av"] * hedges_j(df) if result["d_av"] is not None else None
    if sd_change == 0:
        # Everyone changed by the same amount: t, d_z and their interval are undefined.
        return {**result, "t": None, "p": None, "d_z": None, "d_av_ci": None, "g_av_ci": None}
    t = mean / (sd_change / math.sqrt(n))
    result.update(t=t, p=float(2 * stats.t.sf(abs(t), df)), d_z=mean / sd_change)
    interval = None
    if result["d_av"] is not None:
        low, high = d_av_intervals(before, after)
        interval = (float(low), float(high))
    return {**result, "d_av_ci": interval, "g_av_ci": interval}


def paired_summary(
    pre: Sequence[float],
    post: Sequence[float],
    *,
    higher_is_better: bool,
    min_pairs: int = 5,
) -> PairedSummary:
    """Summarise paired pre and post scores; below ``min_pairs`` only means and SDs are given."""
    before, after = _as_pairs(pre, post)
    n = len(before)
    pre_mean, post_mean = _mean(before), _mean(after)
    pre_sd, post_sd = _sd(before), _sd(after)
    too_few = n < max(min_pairs, 2)
    inference: dict[str, Any] = dict.fromkeys(
        ("mean_change_ci", "t", "p", "d_av", "d_av_ci", "g_av", "g_av_ci", "d_z")
    )
    if not too_few and pre_sd is not None and post_sd is not None:
        inference = _inference(before, after, (pre_sd + post_sd) / 2)
    return PairedSummary(
        n_pairs=n,
        pre_mean=pre_mean,
        pre_sd=pre_sd,
        post_mean=post_mean,
        post_sd=post_sd,
        mean_change=None if post_mean is None or pre_mean is None else post_mean - pre_mean,
        higher_is_better=higher_is_better,
        too_few=too_few,
        **inference,
    )


def spearman(x: Sequence[float], y: Sequence[float], *, min_pairs: int = 5) -> Correlation:
    """Spearman's rho with its two-sided p (exact up to EXACT_SPEARMAN_UP_TO pairs); None below
    ``min_pairs`` pairs or for constant data."""
    first, second = _as_pairs(x, y)
    n = len(first)
    if n < min_pairs:
        return Correlation(None, None, n)
    with warnings.catch_warnings():
        # A constant column gives nan with a warning; we report None instead.
        warnings.simplefilter("ignore")
        result = stats.spearmanr(first, second)
    rho, p = float(result.statistic), float(result.pvalue)
    if math.isnan(rho):
        return Correlation(None, None, n)
    if n <= EXACT_SPEARMAN_UP_TO:
        p = exact_spearman_p(first, second)
    return Correlation(rho, p, n)


def exact_spearman_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided permutation p of Spearman's rho over every pairing of x with y (ties kept as
    midranks): twice the smaller tail, as ``scipy.stats.permutation_test`` reports it.

    With the ranks fixed, rho rises with the sum of rank products, so the p is read off that
    sum's exact distribution, built by dynamic programming over which y-ranks are used: 2^n
    states instead of n! pairings (10! = 3.6 million)."""
    # Doubled midranks are whole numbers, so the sums index an array exactly.
    x_ranks = np.rint(2 * stats.rankdata(x)).astype(np.int64)
    y_ranks = np.rint(2 * stats.rankdata(y)).astype(np.int64)
    n = len(x_ranks)
    largest = int(np.sort(x_ranks) @ np.sort(y_ranks))
    ways = np.zeros((1 << n, largest + 1), dtype=np.float64)
    ways[0, 0] = 1
    for used in range(1 << n):
        row = ways[used]
        paired = used.bit_count()
        if paired == n or not row.any():
            continue
        for j in range(n):
            if not used >> j & 1:
                product = int(x_ranks[paired] * y_ranks[j])
                ways[used | 1 << j, product:] += row[: largest + 1 - product]
    counts = ways[-1]
    observed = int(x_ranks @ y_ranks)
    total = counts.sum()
    greater, less = counts[observed:].sum() / total, counts[: observed + 1].sum() / total
    return float(min(1.0, 2 * min(greater, less)))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's (1979) step-down adjustment over the p-values given; a None stays None and is
    not counted as a test."""
    present = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[index] = running
    return adjusted
