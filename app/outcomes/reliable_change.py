"""Per-patient change: reliable change, NHS Talking Therapies recovery, important change."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import numpy as np

from app.outcomes.definitions import Instrument
from app.outcomes.scoring import check_total, interpret

# Scores carry at most four decimals; this absorbs float error so that a change of exactly the
# threshold (NHS Talking Therapies: "a drop of 6 or more") always counts.
TOLERANCE = 1e-9
Scores = TypeVar("Scores", float, np.ndarray)


class ChangeCategory(StrEnum):
    """Where one person's change falls against the instrument's reliable-change threshold."""

    RELIABLE_IMPROVEMENT = "reliable_improvement"
    NO_RELIABLE_CHANGE = "no_reliable_change"
    RELIABLE_DETERIORATION = "reliable_deterioration"


class NoReliableChangeRule(ValueError):
    """The instrument has no usable reliable-change threshold."""


@dataclass(frozen=True)
class ChangeAssessment:
    """One person's change between two administrations of one instrument.

    ``change`` is post - pre; ``None`` means "does not apply" (no such rule, or, for recovery,
    not a case at baseline).
    """

    change: float
    category: ChangeCategory | None
    case_at_baseline: bool | None
    case_at_end: bool | None
    recovered: bool | None
    reliable_recovery: bool | None
    important_improvement: bool | None


def reliable_change_threshold(instrument: Instrument, *, sample_sd: float | None = None) -> float:
    """The smallest reliable change: the fixed threshold, else 1.96 * SD * sqrt(2) * sqrt(1 - r)."""
    rule = instrument.reliable_change
    if rule is None:
        raise NoReliableChangeRule(f"{instrument.short_name} has no reliable-change rule")
    if rule.threshold is not None:
        return rule.threshold
    assert rule.reliability is not None  # the schema requires a threshold or a reliability
    sd = rule.reference_sd if rule.reference_sd is not None else sample_sd
    if sd is None or sd <= 0:
        raise NoReliableChangeRule(
            f"{instrument.short_name} gives no reference SD: pass the group's baseline SD"
        )
    # Jacobson & Truax (1991): SE of the difference = SD * sqrt(2) * sqrt(1 - r).
    return 1.96 * sd * math.sqrt(2) * math.sqrt(1 - rule.reliability)


def improvement(instrument: Instrument, pre: Scores, post: Scores) -> Scores:
    """How much better the person is (negative when worse), whichever way the scale runs;
    for one person's totals or for arrays of them."""
    return post - pre if instrument.higher_is_better else pre - post


def classify_change(
    instrument: Instrument, pre: float, post: float, *, sample_sd: float | None = None
) -> ChangeCategory:
    """Reliable improvement, deterioration or neither; a change of exactly the threshold counts."""
    check_total(instrument, pre)
    check_total(instrument, post)
    threshold = reliable_change_threshold(instrument, sample_sd=sample_sd)
    better = improvement(instrument, pre, post)
    if better >= threshold - TOLERANCE:
        return ChangeCategory.RELIABLE_IMPROVEMENT
    if -better >= threshold - TOLERANCE:
        return ChangeCategory.RELIABLE_DETERIORATION
    return ChangeCategory.NO_RELIABLE_CHANGE


def important_improvement(instrument: Instrument, pre: float, post: float) -> bool | None:
    """Whether the improvement reaches the clinically important points or percent of baseline."""
    rule = instrument.important_change
    if rule is None:
        return None
    better = improvement(instrument, pre, post)
    by_points = rule.points is not None and better >= rule.points - TOLERANCE
    # A percentage of a zero baseline means nothing, so only the points rule can apply then.
    by_percent = (
        rule.percent is not None
        and pre != 0
        and better > 0
        and better / abs(pre) * 100 >= rule.percent - TOLERANCE
    )
    return by_points or by_percent


def assess_change(
    instrument: Instrument, pre: float, post: float, *, sample_sd: float | None = None
) -> ChangeAssessment:
    """Every change rule the instrument defines, for one person's pre and post totals."""
    check_total(instrument, pre)
    check_total(instrument, post)
    try:
        category: ChangeCategory | None = classify_change(
            instrument, pre, post, sample_sd=sample_sd
        )
    except NoReliableChangeRule:
        category = None
    case_before = interpret(instrument, pre)[1]
    case_after = interpret(instrument, post)[1]
    # NHS Talking Therapies: recovery is only defined for people who were a case at baseline.
    recovered = (not case_after) if case_before else None
    reliable_recovery = (
        None
        if recovered is None or category is None
        else recovered and category is ChangeCategory.RELIABLE_IMPROVEMENT
    )
    return ChangeAssessment(
        change=post - pre,
        category=category,
        case_at_baseline=case_before,
        case_at_end=case_after,
        recovered=recovered,
        reliable_recovery=reliable_recovery,
        important_improvement=important_improvement(instrument, pre, post),
    )


def count_categories(
    instrument: Instrument,
    pair_counts: Mapping[tuple[float, float], int],
    *,
    sample_sd: float | None = None,
) -> dict[str, int]:
    """How many people fall in each category, keyed by the CONTRACT's field names, from how
    many have each (pre, post) pair (scores take few distinct values: each is classified once)."""
    counts = {category.value: 0 for category in ChangeCategory}
    for (pre, post), people in pair_counts.items():
        counts[classify_change(instrument, pre, post, sample_sd=sample_sd).value] += people
    return counts
