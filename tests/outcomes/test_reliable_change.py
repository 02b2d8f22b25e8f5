"""Per-patient change rules, hand-worked, boundaries included.

NHS Talking Therapies: caseness PHQ-9 >= 10, GAD-7 >= 8; reliable improvement is a drop of 6
or more (PHQ-9) or 4 or more (GAD-7), so exactly the threshold counts; recovery is a case at
baseline that is not a case at the end. The service's categories are joint over PHQ-9 and
GAD-7 (``talking_therapies_outcome``). Pain NRS: a drop of 2 points, and separately of 30%
(moderately important) and 50% (substantially important) of baseline (Farrar 2001; IMMPACT,
Dworkin 2008).
"""

import math
from collections import Counter

import pytest

from app.outcomes.definitions import Instrument, load_instruments
from app.outcomes.reliable_change import (
    ChangeCategory,
    NoReliableChangeRule,
    PainChange,
    TalkingTherapiesOutcome,
    assess_change,
    classify_change,
    count_categories,
    count_pain_change,
    count_talking_therapies,
    pain_change,
    reliable_change_threshold,
    talking_therapies_outcome,
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
    ("pre", "post", "two_points", "thirty", "fifty"),
    [
        (6, 4, True, True, False),  # 2 points, 33%
        (10, 7, True, True, False),  # 3 points, 30% exactly
        (3, 2, False, True, False),  # 1 point, 33%: moderately important, not 2 points
        (10, 8, True, False, False),  # 2 points, 20%
        (4, 2, True, True, True),  # 2 points, 50% exactly
        (5, 4, False, False, False),  # 1 point, 20%
        (4, 6, False, False, False),  # worse
    ],
)
def test_pain_change_rules_are_separate(
    pre: int, post: int, two_points: bool, thirty: bool, fifty: bool
) -> None:
    assert pain_change(PAIN, pre, post) == PainChange(True, two_points, thirty, fifty)


def test_pain_at_zero_cannot_improve() -> None:
    assert pain_change(PAIN, 0, 0) == PainChange(False, False, False, False)


def test_count_pain_change_keeps_baseline_zero_apart() -> None:
    people = Counter([(3.0, 2.0), (6.0, 4.0), (6.0, 4.0), (4.0, 2.0), (0.0, 0.0), (5.0, 6.0)])
    assert count_pain_change(PAIN, people) == {
        "two_points": 3,
        "thirty_percent": 4,
        "fifty_percent": 1,
        "n": 5,
        "baseline_at_best": 1,
    }


def test_pain_has_no_reliable_change_rule() -> None:
    with pytest.raises(NoReliableChangeRule):
        classify_change(PAIN, 8, 2)
    result = assess_change(PAIN, 8, 5)
    assert (result.category, result.recovered) == (None, None)
    assert result.pain_change == PainChange(True, True, True, False)
    assert assess_change(PHQ9, 15, 9).pain_change is None


def test_scs_sf_has_no_sample_based_reliable_change() -> None:
    # No published reference SD: no threshold at all, rather than one from each sample's SD.
    with pytest.raises(NoReliableChangeRule):
        classify_change(SCS_SF, 2.5, 3.5)
    assert assess_change(SCS_SF, 2.5, 3.5).category is None


def demo(reliable_change: dict) -> Instrument:
    return Instrument.model_validate(instrument_data(reliable_change=reliable_change))


def test_jacobson_truax_with_a_reference_sd() -> None:
    instrument = demo({"reliability": 0.9, "reference_sd": 2.0, "source": "made up"})
    expected = 1.96 * 2.0 * math.sqrt(2) * math.sqrt(0.1)  # 1.7531
    assert reliable_change_threshold(instrument) == pytest.approx(expected)
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


# NHS Talking Therapies, jointly: (PHQ-9 before, after, GAD-7 before, after), worked by hand.
RECOVERS_WITHOUT_RELIABLE_IMPROVEMENT = (12.0, 8.0, 9.0, 6.0)  # falls of 4 and 3: not reliable
NOT_A_CASE = (6.0, 2.0, 5.0, 1.0)  # 6 < 10 and 5 < 8; falls of 4 and 4: GAD-7's is reliable
MIXED = (16.0, 10.0, 6.0, 10.0)  # PHQ-9 falls 6 (reliable), GAD-7 rises 4 (reliable)
RELIABLY_RECOVERED = (15.0, 9.0, 12.0, 7.0)
DETERIORATES = (8.0, 9.0, 4.0, 9.0)  # GAD-7 rises 5, PHQ-9 rises 1: later a case


def joint(scores: tuple[float, float, float, float]) -> TalkingTherapiesOutcome:
    return talking_therapies_outcome(PHQ9, GAD7, scores)


def test_a_case_who_recovers_without_reliable_improvement() -> None:
    assert joint(RECOVERS_WITHOUT_RELIABLE_IMPROVEMENT) == TalkingTherapiesOutcome(
        case_at_baseline=True,
        recovered=True,
        reliable_improvement=False,
        reliable_deterioration=False,
        reliable_recovery=False,
    )


def test_a_non_case_can_improve_reliably_but_not_recover() -> None:
    assert joint(NOT_A_CASE) == TalkingTherapiesOutcome(
        case_at_baseline=False,
        recovered=False,
        reliable_improvement=True,
        reliable_deterioration=False,
        reliable_recovery=False,
    )


def test_improvement_on_phq9_with_deterioration_on_gad7_is_neither() -> None:
    # Still a case afterwards (PHQ-9 10, GAD-7 10): not recovered.
    assert joint(MIXED) == TalkingTherapiesOutcome(
        case_at_baseline=True,
        recovered=False,
        reliable_improvement=False,
        reliable_deterioration=False,
        reliable_recovery=False,
    )


def test_reliable_recovery_and_deterioration() -> None:
    assert joint(RELIABLY_RECOVERED).reliable_recovery
    worse = joint(DETERIORATES)
    assert (worse.case_at_baseline, worse.reliable_deterioration) == (False, True)


def test_joint_counts() -> None:
    people = Counter(
        {
            RECOVERS_WITHOUT_RELIABLE_IMPROVEMENT: 2,
            NOT_A_CASE: 1,
            MIXED: 1,
            RELIABLY_RECOVERED: 3,
            DETERIORATES: 1,
        }
    )
    assert count_talking_therapies(PHQ9, GAD7, people) == {
        "n_pairs": 8,
        "n_cases_at_baseline": 6,
        "recovered": 5,
        "reliable_improvement": 4,
        "reliable_recovery": 3,
        "reliable_deterioration": 1,
        "no_reliable_change": 3,
    }
