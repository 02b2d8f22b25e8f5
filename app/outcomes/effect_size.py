"""Pre-post statistics for a group: paired t, standardised mean changes and their intervals.

Formulas and references are in docs/instruments.md ("Statistics").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, stats

CONFIDENCE = 0.95


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
    g_av: float | None
    g_av_ci: tuple[float, float] | None
    d_z: float | None
    higher_is_better: bool
    too_few: bool

    def contract_fields(self) -> dict[str, Any]:
        """The CONTRACT fields as JSON-ready values (intervals as ``[low, high]`` lists)."""
        fields = asdict(self)
        del fields["too_few"]
        for name in ("mean_change_ci", "g_av_ci"):
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


def _bracket_root(function: Callable[[float], float], start: float) -> float:
    # The noncentral t cdf falls as the noncentrality rises: widen until the root is inside.
    # Start narrow and double: far out in its tails SciPy's noncentral t cdf is NaN (t = -10
    # with 3,000 df at a noncentrality of 2), and the root is never far from t.
    width = 1.0
    while function(start - width) * function(start + width) > 0:
        width *= 2
    return float(optimize.brentq(function, start - width, start + width, xtol=1e-10))


def noncentrality_interval(
    t: float, df: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The noncentrality parameters under which ``t`` sits at the upper and lower tail quantiles."""
    tail = (1 - confidence) / 2
    low = _bracket_root(lambda nc: float(stats.nct.cdf(t, df, nc)) - (1 - tail), t)
    high = _bracket_root(lambda nc: float(stats.nct.cdf(t, df, nc)) - tail, t)
    return low, high


def _inference(change: np.ndarray, sd_av: float) -> dict[str, Any]:
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
        return {**result, "t": None, "p": None, "d_z": None, "g_av_ci": None}
    t = mean / (sd_change / math.sqrt(n))
    result.update(t=t, p=float(2 * stats.t.sf(abs(t), df)), d_z=mean / sd_change)
    if result["g_av"] is not None:
        # Interval for d_z = ncp / sqrt(n), rescaled to g_av by g_av / d_z = J * sd_change / sd_av.
        scale = hedges_j(df) * sd_change / sd_av / math.sqrt(n)
        low, high = noncentrality_interval(t, df)
        result["g_av_ci"] = (low * scale, high * scale)
    else:
        result["g_av_ci"] = None
    return result


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
        ("mean_change_ci", "t", "p", "d_av", "g_av", "g_av_ci", "d_z")
    )
    if not too_few and pre_sd is not None and post_sd is not None:
        inference = _inference(after - before, (pre_sd + post_sd) / 2)
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
    """Spearman's rho with its two-sided p; None below ``min_pairs`` pairs or for constant data."""
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
    return Correlation(rho, p, n)
