"""Per-patient change rules, hand-worked, boundaries included.

NHS Talking Therapies: caseness PHQ-9 >= 10, GAD-7 >= 8; reliable improvement is a drop of 6
or more (PHQ-9) or 4 or more (GAD-7), so exactly the threshold counts; recovery is a case at
baseline that is not a case at the end. Pain NRS: a drop of 2 points or 30% of baseline is
clinically important (Farrar 2001; IMMPACT, Dworkin 2008).
"""

import math
from collections import Counter

import pytest

from app.outcomes.definitions import Instrument, load_instruments
from app.outcomes.reliable_change import (
    ChangeCategory,
    NoReliableChangeRule,
    assess_change,
    classify_change,
    count_categories,
    important_improvement,
    reliable_change_threshold,
)
from app.outcomes.scoring import ScoringError
from tests.outcomes import instrument_data

INSTRUMENTS = load_instruments()
PHQ9, GAD7, PAIN, SCS_SF = (INSTRUMENTS[i] for i in ("phq9", "gad7", "pain_intensity", "scs_sf"))
IMPROVED = ChangeCategory.RELIABLE_IMPROVEMENT
UNCHANGED = ChangeCategory.NO_RELIABLE_CHANGE
WORSE = ChangeCategory.RELIABLE_DETERIORATION


@pytest.mark.parametrize(
    ("pre", "post", "category"),
    [
        (15, 9, IMPROVED),  # a drop of exactly 6 counts
        (15, 10, UNCHANGED),  # a drop of 5 does not
        (27, 0, IMPROVED),
        (9, 15, WORSE),  # a rise of exactly 6 counts
        (10, 15, UNCHANGED),
        (12, 12, UNCHANGED),
    ],
)
def test_phq9_reliable_change(pre: int, post: int, category: ChangeCategory) -> None:
    assert classify_change(PHQ9, pre, post) is category


@pytest.mark.parametrize(
    ("pre", "post", "category"),
    [(10, 6, IMPROVED), (10, 7, UNCHANGED), (7, 11, WORSE), (7, 10, UNCHANGED)],
)
def test_gad7_reliable_change(pre: int, post: int, category: ChangeCategory) -> None:
    assert classify_change(GAD7, pre, post) is category


def test_phq9_reliable_recovery() -> None:
    result = assess_change(PHQ9, 15, 9)
    assert (result.change, result.category) == (-6, IMPROVED)
    assert (result.case_at_baseline, result.case_at_end) == (True, False)
    assert (result.recovered, result.reliable_recovery) == (True, True)


def test_recovery_without_reliable_improvement() -> None:
    result = assess_change(PHQ9, 12, 9)
    assert (result.category, result.recovered, result.reliable_recovery) == (
        UNCHANGED,
        True,
        False,
    )


def test_reliable_improvement_while_still_a_case() -> None:
    result = assess_change(PHQ9, 20, 14)
    assert (result.category, result.recovered, result.reliable_recovery) == (IMPROVED, False, False)


def test_recovery_does_not_apply_below_caseness_at_baseline() -> None:
    result = assess_change(PHQ9, 8, 2)
    assert (result.case_at_baseline, result.category) == (False, IMPROVED)
    assert (result.recovered, result.reliable_recovery) == (None, None)


def test_gad7_caseness_boundary_for_recovery() -> None:
    # 8 is a case (>= 8) and 7 is not: recovered, but a drop of 1 is not reliable.
    result = assess_change(GAD7, 8, 7)
    assert (result.recovered, result.reliable_recovery) == (True, False)


@pytest.mark.parametrize(
    ("pre", "post", "important"),
    [
        (6, 4, True),  # 2 points
        (10, 7, True),  # 3 points, 30%
        (3, 2, True),  # 1 point but 33%
        (10, 8, True),  # 2 points, 20%
        (5, 4, False),  # 1 point, 20%
        (0, 0, False),
        (4, 6, False),  # worse
    ],
)
def test_pain_clinically_important_improvement(pre: int, post: int, important: bool) -> None:
    assert important_improvement(PAIN, pre, post) is important


def test_pain_has_no_reliable_change_rule() -> None:
    with pytest.raises(NoReliableChangeRule):
        classify_change(PAIN, 8, 2)
    result = assess_change(PAIN, 8, 5)
    assert (result.category, result.important_improvement, result.recovered) == (None, True, None)
    assert assess_change(PHQ9, 15, 9).important_improvement is None


def test_jacobson_truax_with_the_group_baseline_sd() -> None:
    # 1.96 * 0.6 * sqrt(2) * sqrt(1 - 0.86) = 1.176 * sqrt(0.28) = 0.6223
    assert reliable_change_threshold(SCS_SF, sample_sd=0.6) == pytest.approx(0.62228, abs=1e-5)
    assert classify_change(SCS_SF, 2.5, 3.5, sample_sd=0.6) is IMPROVED
    assert classify_change(SCS_SF, 3.0, 3.5, sample_sd=0.6) is UNCHANGED
    # Higher is better for self-compassion, so a fall is a deterioration.
    assert classify_change(SCS_SF, 3.5, 2.5, sample_sd=0.6) is WORSE
    with pytest.raises(NoReliableChangeRule, match="baseline SD"):
        classify_change(SCS_SF, 2.5, 3.5)


def demo(reliable_change: dict) -> Instrument:
    return Instrument.model_validate(instrument_data(reliable_change=reliable_change))


def test_jacobson_truax_with_a_reference_sd() -> None:
    instrument = demo({"reliability": 0.9, "reference_sd": 2.0, "source": "made up"})
    expected = 1.96 * 2.0 * math.sqrt(2) * math.sqrt(0.1)  # 1.7531
    assert reliable_change_threshold(instrument) == pytest.approx(expected)
    assert reliable_change_threshold(instrument, sample_sd=9) == pytest.approx(expected)
    assert classify_change(instrument, 6, 4) is IMPROVED
    assert classify_change(instrument, 6, 5) is UNCHANGED


def test_a_fixed_threshold_wins_over_the_index() -> None:
    instrument = demo({"threshold": 3, "reliability": 0.5, "reference_sd": 9, "source": "x"})
    assert reliable_change_threshold(instrument) == 3


def test_totals_outside_the_range_are_refused() -> None:
    with pytest.raises(ScoringError, match="outside 0-27"):
        classify_change(PHQ9, 28, 10)
    with pytest.raises(ScoringError):
        assess_change(GAD7, 10, -1)


def test_count_categories_counts_people_under_the_contract_names() -> None:
    people = Counter([(15.0, 9.0), (15.0, 9.0), (15.0, 10.0), (9.0, 15.0), (20.0, 5.0), (3.0, 3.0)])
    assert count_categories(PHQ9, people) == {
        "reliable_improvement": 3,
        "no_reliable_change": 2,
        "reliable_deterioration": 1,
    }
