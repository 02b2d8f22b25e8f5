"""Per-patient change: reliable change, NHS Talking Therapies categories (jointly over PHQ-9
and GAD-7) and the IMMPACT pain-change rules, and the counts of people in each."""

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
# One person's PHQ-9 before and after, then GAD-7 before and after.
JointScores = tuple[float, float, float, float]


class ChangeCategory(StrEnum):
    """Where one person's change falls against the instrument's reliable-change threshold."""

    RELIABLE_IMPROVEMENT = "reliable_improvement"
    NO_RELIABLE_CHANGE = "no_reliable_change"
    RELIABLE_DETERIORATION = "reliable_deterioration"


class NoReliableChangeRule(ValueError):
    """The instrument has no published reliable-change threshold."""


@dataclass(frozen=True)
class PainChange:
    """Which IMMPACT pain-change rules one person's improvement reaches, each on its own."""

    could_improve: bool  # False when the baseline was already the best score
    two_points: bool
    thirty_percent: bool
    fifty_percent: bool


@dataclass(frozen=True)
class ChangeAssessment:
    """One person's change between two administrations of one instrument.

    ``change`` is post - pre; ``None`` means "does not apply" (no such rule, or, for recovery,
    not a case at baseline). Recovery here is on this one measure; the NHS Talking Therapies
    categories proper are joint (``talking_therapies_outcome``).
    """

    change: float
    category: ChangeCategory | None
    case_at_baseline: bool | None
    case_at_end: bool | None
    recovered: bool | None
    reliable_recovery: bool | None
    pain_change: PainChange | None


def reliable_change_threshold(instrument: Instrument) -> float:
    """The smallest reliable change: the published threshold, else the Jacobson-Truax
    1.96 * SD * sqrt(2) * sqrt(1 - r) from the published reliability and reference SD."""
    rule = instrument.reliable_change
    if rule is None:
        raise NoReliableChangeRule(f"{instrument.short_name} has no reliable-change rule")
    if rule.threshold is not None:
        return rule.threshold
    # The schema requires both when there is no threshold.
    assert rule.reliability is not None and rule.reference_sd is not None
    return 1.96 * rule.reference_sd * math.sqrt(2) * math.sqrt(1 - rule.reliability)


def improvement(instrument: Instrument, pre: Scores, post: Scores) -> Scores:
    """How much better the person is (negative when worse), whichever way the scale runs;
    for one person's totals or for arrays of them."""
    return post - pre if instrument.higher_is_better else pre - post


def classify_change(instrument: Instrument, pre: float, post: float) -> ChangeCategory:
    """Reliable improvement, deterioration or neither; a change of exactly the threshold counts."""
    check_total(instrument, pre)
    check_total(instrument, post)
    threshold = reliable_change_threshold(instrument)
    better = improvement(instrument, pre, post)
    if better >= threshold - TOLERANCE:
        return ChangeCategory.RELIABLE_IMPROVEMENT
    if -better >= threshold - TOLERANCE:
        return ChangeCategory.RELIABLE_DETERIORATION
    return ChangeCategory.NO_RELIABLE_CHANGE


def pain_change(instrument: Instrument, pre: float, post: float) -> PainChange | None:
    """The instrument's pain-change rules for one person; None when it has none. Percentages
    are of the baseline's distance from the best score (for pain, of the baseline itself)."""
    rule = instrument.important_change
    if rule is None:
        return None
    best = (
        instrument.scoring.range.max
        if instrument.higher_is_better
        else instrument.scoring.range.min
    )
    room = abs(pre - best)
    if room == 0:
        # Pain 0 at baseline cannot improve: counted apart, not as "not improved".
        return PainChange(
            could_improve=False, two_points=False, thirty_percent=False, fifty_percent=False
        )
    better = improvement(instrument, pre, post)
    percent = better / room * 100
    return PainChange(
        could_improve=True,
        two_points=better >= rule.points - TOLERANCE,
        thirty_percent=percent >= rule.moderate_percent - TOLERANCE,
        fifty_percent=percent >= rule.substantial_percent - TOLERANCE,
    )


def assess_change(instrument: Instrument, pre: float, post: float) -> ChangeAssessment:
    """Every change rule the instrument defines, for one person's pre and post totals."""
    check_total(instrument, pre)
    check_total(instrument, post)
    try:
        category: ChangeCategory | None = classify_change(instrument, pre, post)
    except NoReliableChangeRule:
        category = None
    case_before = interpret(instrument, pre)[1]
    case_after = interpret(instrument, post)[1]
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
        pain_change=pain_change(instrument, pre, post),
    )


def count_categories(
    instrument: Instrument, pair_counts: Mapping[tuple[float, float], int]
) -> dict[str, int]:
    """How many people fall in each category, keyed by the CONTRACT's field names, from how
    many have each (pre, post) pair (scores take few distinct values: each is classified once)."""
    counts = {category.value: 0 for category in ChangeCategory}
    for (pre, post), people in pair_counts.items():
        counts[classify_change(instrument, pre, post).value] += people
    return counts


def count_pain_change(
    instrument: Instrument, pair_counts: Mapping[tuple[float, float], int]
) -> dict[str, int]:
    """How many improved by each pain-change rule, out of ``n`` who could improve;
    ``baseline_at_best`` counts those who started at the best score (pain 0)."""
    counts = dict.fromkeys(
        ("two_points", "thirty_percent", "fifty_percent", "n", "baseline_at_best"), 0
    )
    for (pre, post), people in pair_counts.items():
        change = pain_change(instrument, pre, post)
        assert change is not None, f"{instrument.short_name} has no pain-change rule"
        if not change.could_improve:
            counts["baseline_at_best"] += people
            continue
        counts["n"] += people
        counts["two_points"] += people * change.two_points
        counts["thirty_percent"] += people * change.thirty_percent
        counts["fifty_percent"] += people * change.fifty_percent
    return counts


# ------------------------------------------------------- NHS Talking Therapies, jointly


@dataclass(frozen=True)
class TalkingTherapiesOutcome:
    """One person's NHS Talking Therapies categories over PHQ-9 and GAD-7 together."""

    case_at_baseline: bool
    recovered: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    reliable_recovery: bool


def talking_therapies_outcome(
    phq9: Instrument, gad7: Instrument, scores: JointScores
) -> TalkingTherapiesOutcome:
    """The NHS Talking Therapies manual's joint definitions for one person: a case has either
    measure at or above its cut-off; recovery needs a case at baseline and both below later;
    reliable improvement is a reliable fall on at least one with no reliable rise on the other
    (deterioration the reverse); reliable recovery is both recovery and reliable improvement."""
    phq_pre, phq_post, gad_pre, gad_post = scores
    before = [bool(interpret(phq9, phq_pre)[1]), bool(interpret(gad7, gad_pre)[1])]
    after = [bool(interpret(phq9, phq_post)[1]), bool(interpret(gad7, gad_post)[1])]
    categories = {
        classify_change(phq9, phq_pre, phq_post),
        classify_change(gad7, gad_pre, gad_post),
    }
    improved = ChangeCategory.RELIABLE_IMPROVEMENT in categories
    deteriorated = ChangeCategory.RELIABLE_DETERIORATION in categories
    case = any(before)
    recovered = case and not any(after)
    reliable_improvement = improved and not deteriorated
    return TalkingTherapiesOutcome(
        case_at_baseline=case,
        recovered=recovered,
        reliable_improvement=reliable_improvement,
        reliable_deterioration=deteriorated and not improved,
        reliable_recovery=recovered and reliable_improvement,
    )


def talking_therapies_definition(phq9: Instrument, gad7: Instrument) -> str:
    """The joint definitions in words, with the thresholds the instrument files give."""
    cut = {i.short_name: _cut_off(i) for i in (phq9, gad7)}
    step = {i.short_name: f"{reliable_change_threshold(i):g}" for i in (phq9, gad7)}
    p, g = phq9.short_name, gad7.short_name
    return (
        f"NHS Talking Therapies, jointly over {p} and {g}. Case at baseline: {p} >= {cut[p]} or "
        f"{g} >= {cut[g]}. Recovered: a case at baseline with {p} < {cut[p]} and {g} < {cut[g]} "
        f"later. Reliable improvement: a fall of {step[p]} or more on {p} or {step[g]} or more "
        f"on {g}, with no reliable rise on the other; reliable deterioration the reverse. "
        "Reliable recovery: recovered and reliably improved. Recovered and reliable recovery "
        "are out of the cases at baseline; the rest out of everyone with both measures at both "
        "times."
    )


def _cut_off(instrument: Instrument) -> str:
    assert instrument.caseness is not None and instrument.caseness.at_or_above is not None
    return f"{instrument.caseness.at_or_above:g}"


def count_talking_therapies(
    phq9: Instrument, gad7: Instrument, people: Mapping[JointScores, int]
) -> dict[str, int]:
    """How many people fall in each joint category, from how many have each set of scores."""
    counts = dict.fromkeys(
        (
            "n_pairs",
            "n_cases_at_baseline",
            "recovered",
            "reliable_improvement",
            "reliable_recovery",
            "reliable_deterioration",
            "no_reliable_change",
        ),
        0,
    )
    for scores, how_many in people.items():
        outcome = talking_therapies_outcome(phq9, gad7, scores)
        counts["n_pairs"] += how_many
        counts["n_cases_at_baseline"] += how_many * outcome.case_at_baseline
        counts["recovered"] += how_many * outcome.recovered
        counts["reliable_improvement"] += how_many * outcome.reliable_improvement
        counts["reliable_recovery"] += how_many * outcome.reliable_recovery
        counts["reliable_deterioration"] += how_many * outcome.reliable_deterioration
        counts["no_reliable_change"] += how_many * (
            not outcome.reliable_improvement and not outcome.reliable_deterioration
        )
    return counts
