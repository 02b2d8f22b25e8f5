"""Scoring, hand-worked against each instrument's published rule."""

from fractions import Fraction

import pytest

from app.outcomes.definitions import Instrument, load_instruments
from app.outcomes.scoring import (
    IncompleteAnswers,
    InvalidAnswer,
    ScoringError,
    round_score,
    safety_triggered,
    score,
    score_from_total,
)
from tests.outcomes import instrument_data

INSTRUMENTS = load_instruments()
PHQ9, GAD7, PEG, SCS_SF = (INSTRUMENTS[i] for i in ("phq9", "gad7", "peg", "scs_sf"))


def phq9_answers(*values: int | None) -> dict[str, int | None]:
    return {f"q{n}": value for n, value in enumerate(values, start=1)}


def answers_for(total: int, n_items: int) -> dict[str, int | None]:
    """0-3 answers adding up to ``total``, filling items in order."""
    values = [min(3, max(0, total - 3 * n)) for n in range(n_items)]
    return {f"q{n}": value for n, value in enumerate(values, start=1)}


def test_phq9_all_zero_and_all_maximum() -> None:
    lowest = score(PHQ9, answers_for(0, 9))
    assert (lowest.total, lowest.band, lowest.is_case) == (0, "None to minimal", False)
    highest = score(PHQ9, answers_for(27, 9))
    assert (highest.total, highest.band, highest.is_case) == (27, "Severe", True)
    assert (highest.n_answered, highest.n_missing, highest.prorated) == (9, 0, False)


@pytest.mark.parametrize(
    ("total", "band", "is_case"),
    [
        (4, "None to minimal", False),
        (5, "Mild", False),
        (9, "Mild", False),
        (10, "Moderate", True),
        (14, "Moderate", True),
        (15, "Moderately severe", True),
        (19, "Moderately severe", True),
        (20, "Severe", True),
    ],
)
def test_phq9_band_and_caseness_boundaries(total: int, band: str, is_case: bool) -> None:
    result = score(PHQ9, answers_for(total, 9))
    assert (result.total, result.band, result.is_case) == (total, band, is_case)


def test_phq9_prorates_up_to_two_missing_items() -> None:
    # q7 and q8 missing; answered sum 2*6 + 1 = 13 over 7 items; 13 * 9 / 7 = 16.71 -> 17.
    result = score(PHQ9, phq9_answers(2, 2, 2, 2, 2, 2, None, None, 1))
    assert (result.total, result.band, result.prorated) == (17, "Moderately severe", True)
    assert (result.n_answered, result.n_missing) == (7, 2)


def test_prorated_half_points_round_up() -> None:
    # q8 missing; sum 4 over 8 items; 4 * 9 / 8 = 4.5 -> 5 (round half to even would give 4).
    result = score(PHQ9, phq9_answers(1, 1, 1, 1, 0, 0, 0, None, 0))
    assert (result.total, result.band) == (5, "Mild")


def test_phq9_refuses_three_missing_items() -> None:
    with pytest.raises(IncompleteAnswers, match="at most 2 may be left out") as caught:
        score(PHQ9, phq9_answers(1, None, 1, None, 1, None, 1, 1, 0))
    assert caught.value.item_ids == ["q2", "q4", "q6"]


def test_phq9_item_9_is_never_prorated() -> None:
    with pytest.raises(IncompleteAnswers, match="safety item") as caught:
        score(PHQ9, phq9_answers(1, 1, 1, 1, 1, 1, 1, 1, None))
    assert caught.value.item_ids == ["q9"]


def test_absent_and_none_answers_are_both_missing() -> None:
    answers = phq9_answers(1, 1, 1, 1, 1, 1, 1, None, 0)
    del answers["q8"]
    assert score(PHQ9, answers).n_missing == 1


@pytest.mark.parametrize("value", [4, -1, True, 1.0, "1"])
def test_invalid_answers_name_the_item_and_allowed_values(value: object) -> None:
    answers: dict = phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 0)
    answers["q3"] = value
    with pytest.raises(InvalidAnswer, match=r"item q3: .* the answers are 0, 1, 2, 3") as caught:
        score(PHQ9, answers)
    assert caught.value.item_id == "q3"


def test_unknown_item_is_refused() -> None:
    with pytest.raises(InvalidAnswer, match="no item 'q10'"):
        score(PHQ9, {**answers_for(0, 9), "q10": 1})


def test_gad7_all_zero_maximum_and_boundaries() -> None:
    assert score(GAD7, answers_for(0, 7)).band == "Minimal"
    assert score(GAD7, answers_for(21, 7)).band == "Severe"
    expected = {4: "Minimal", 5: "Mild", 9: "Mild", 10: "Moderate", 14: "Moderate", 15: "Severe"}
    for total, band in expected.items():
        assert score(GAD7, answers_for(total, 7)).band == band
    assert score(GAD7, answers_for(7, 7)).is_case is False
    assert score(GAD7, answers_for(8, 7)).is_case is True


def test_gad7_allows_no_missing_items() -> None:
    answers = answers_for(5, 7)
    answers["q7"] = None
    with pytest.raises(IncompleteAnswers, match="no item may be left out"):
        score(GAD7, answers)


def scs_answers(*values: int) -> dict[str, int | None]:
    return {f"q{n}": value for n, value in enumerate(values, start=1)}


def test_scs_sf_reverse_items() -> None:
    # Six reversed items at 5 count as 1; with the other six at 5 the mean is (6*1 + 6*5)/12 = 3.
    assert score(SCS_SF, scs_answers(*[5] * 12)).total == 3.0
    assert score(SCS_SF, scs_answers(*[1] * 12)).total == 3.0
    # Most self-compassionate: forward items 5, reversed items (1, 4, 8, 9, 11, 12) 1.
    most = scs_answers(1, 5, 5, 1, 5, 5, 5, 1, 1, 5, 1, 1)
    assert score(SCS_SF, most).total == 5.0
    least = {item: 6 - value for item, value in most.items() if value is not None}
    assert score(SCS_SF, least).total == 1.0


def test_scs_sf_hand_worked_mean() -> None:
    # Reversed: q1 2->4, q4 2->4, q8 1->5, q9 2->4, q11 3->3, q12 2->4.
    # Forward: q2 4, q3 3, q5 5, q6 4, q7 3, q10 4. Sum 47, mean 47/12 = 3.9166 -> 3.92.
    result = score(SCS_SF, scs_answers(2, 4, 3, 2, 5, 4, 3, 1, 2, 4, 3, 2))
    assert result.total == 3.92
    assert result.band is None and result.is_case is None


def test_peg_is_the_mean_of_three() -> None:
    assert score(PEG, {"pain": 5, "enjoyment": 3, "activity": 3}).total == 3.67  # 11/3
    assert score(PEG, {"pain": 0, "enjoyment": 0, "activity": 0}).total == 0
    assert score(PEG, {"pain": 10, "enjoyment": 10, "activity": 10}).total == 10
    with pytest.raises(IncompleteAnswers):
        score(PEG, {"pain": 10, "enjoyment": 10, "activity": None})


def test_numeric_rating_scales() -> None:
    assert score(INSTRUMENTS["pain_intensity"], {"pain": 7}).total == 7
    with pytest.raises(InvalidAnswer, match="0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"):
        score(INSTRUMENTS["pain_distress"], {"distress": 11})


def test_pseq_from_items_and_from_a_staff_entered_total() -> None:
    pseq = INSTRUMENTS["pseq"]
    assert score(pseq, {f"q{n}": 6 for n in range(1, 11)}).total == 60
    assert score(pseq, {f"q{n}": 0 for n in range(1, 11)}).total == 0
    entered = score_from_total(pseq, 42)
    assert (entered.total, entered.entered_as_total, entered.n_answered) == (42, True, 0)
    for impossible in (61, -1, 42.5):
        with pytest.raises(ScoringError):
            score_from_total(pseq, impossible)


def test_score_from_total_interprets_the_total() -> None:
    result = score_from_total(PHQ9, 10)
    assert (result.band, result.is_case) == ("Moderate", True)
    assert score_from_total(SCS_SF, 3.25).total == 3.25
    with pytest.raises(ScoringError, match="more than 2 decimal places"):
        score_from_total(SCS_SF, 3.255)


def test_subscales_and_prorating_in_a_made_up_instrument() -> None:
    scoring = {
        "method": "sum",
        "range": {"min": 0, "max": 12},
        "reverse_items": ["i2"],
        "missing": {"max_missing": 1},
        "subscales": [
            {"id": "first", "label": "First", "items": ["i1", "i2"]},
            {"id": "second", "label": "Second", "items": ["i3", "i4"]},
        ],
    }
    demo = Instrument.model_validate(instrument_data(scoring=scoring))
    # i2 = 0 reversed to 3; answered sum 1 + 3 + 2 = 6 over 3 items; 6 * 4 / 3 = 8.
    result = score(demo, {"i1": 1, "i2": 0, "i3": 2, "i4": None})
    assert (result.total, result.band, result.prorated) == (8, "High", True)
    assert result.subscales == {"first": 4, "second": None}


def test_round_score_rounds_half_away_from_zero() -> None:
    assert round_score(Fraction(5, 2), 0) == 3
    assert round_score(Fraction(7, 2), 0) == 4
    assert round_score(Fraction(2, 3), 2) == 0.67


def test_safety_item_triggers_on_any_answer_above_zero() -> None:
    assert safety_triggered(PHQ9, answers_for(0, 9)) == []
    for value in (1, 2, 3):
        assert safety_triggered(PHQ9, phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, value)) == ["q9"]
    assert safety_triggered(PHQ9, phq9_answers(3, 3, 3, 3, 3, 3, 3, 3, None)) == []
    assert safety_triggered(GAD7, answers_for(21, 7)) == []


def test_safety_is_checked_even_when_another_answer_is_invalid() -> None:
    answers = phq9_answers(9, 0, 0, 0, 0, 0, 0, 0, 1)
    assert safety_triggered(PHQ9, answers) == ["q9"]
    with pytest.raises(InvalidAnswer):
        score(PHQ9, answers)
