"""Scoring one completed questionnaire by its instrument's published rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.outcomes.definitions import Instrument

Answers = Mapping[str, int | None]


class ScoringError(ValueError):
    """Answers or a total that the instrument's rules do not allow."""


class IncompleteAnswers(ScoringError):
    """More items are unanswered than the missing-item rule allows."""

    def __init__(self, instrument: Instrument, missing: list[str], reason: str) -> None:
        self.item_ids = missing
        super().__init__(f"{instrument.short_name}: unanswered {', '.join(missing)}: {reason}")


class InvalidAnswer(ScoringError):
    """An answer that is not one of the item's allowed values, or to an item that does not exist."""

    def __init__(self, item_id: str, message: str) -> None:
        self.item_id = item_id
        super().__init__(message)


@dataclass(frozen=True)
class Score:
    """A scored administration: total, subscales and what the total means."""

    total: float
    subscales: Mapping[str, float | None] = field(default_factory=dict)
    band: str | None = None
    is_case: bool | None = None
    n_answered: int = 0
    n_missing: int = 0
    prorated: bool = False
    entered_as_total: bool = False


def round_score(value: Fraction, decimals: int) -> float:
    """Round half away from zero, as a person scoring by hand would, not to the even neighbour."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _check_answers(instrument: Instrument, answers: Answers) -> None:
    for item_id, value in answers.items():
        if item_id not in instrument.item_ids:
            raise InvalidAnswer(
                item_id,
                f"{instrument.short_name} has no item {item_id!r}; "
                f"its items are {', '.join(instrument.item_ids)}",
            )
        allowed = instrument.allowed_values(item_id)
        # bool is an int in Python; True must not pass for 1.
        if value is not None and (type(value) is not int or value not in allowed):
            raise InvalidAnswer(
                item_id,
                f"{instrument.short_name} item {item_id}: {value!r} is not allowed; "
                f"the answers are {', '.join(map(str, allowed))}",
            )


def _check_missing(instrument: Instrument, missing: list[str]) -> None:
    safety = [s.item for s in instrument.safety_items if s.item in missing]
    if safety:
        # Prorating a safety item would hide a risk the person may have wanted to tell us about.
        raise IncompleteAnswers(instrument, safety, "a safety item must always be answered")
    allowed = instrument.scoring.missing.max_missing
    if len(missing) > allowed:
        rule = "no item may be left out" if allowed == 0 else f"at most {allowed} may be left out"
        raise IncompleteAnswers(instrument, missing, rule)


def _scored_value(instrument: Instrument, item_id: str, value: int) -> int:
    if item_id not in instrument.scoring.reverse_items:
        return value
    allowed = instrument.allowed_values(item_id)
    return allowed[0] + allowed[-1] - value


def _combine(instrument: Instrument, values: list[int], n_items: int) -> Fraction:
    mean = Fraction(sum(values), len(values))
    # A prorated sum is the mean of the answered items scaled up to every item.
    return mean * n_items if instrument.scoring.method == "sum" else mean


def _subscales(instrument: Instrument, values: Mapping[str, int]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for subscale in instrument.scoring.subscales:
        answered = [values[i] for i in subscale.items if i in values]
        # Subscales are short (often two items), so they are never prorated.
        result[subscale.id] = (
            round_score(_combine(instrument, answered, len(answered)), instrument.scoring.decimals)
            if len(answered) == len(subscale.items)
            else None
        )
    return result


def interpret(instrument: Instrument, total: float) -> tuple[str | None, bool | None]:
    """The band label and caseness of a total."""
    band = next((b.label for b in instrument.bands if b.min <= total <= b.max), None)
    caseness = instrument.caseness
    if caseness is None:
        return band, None
    if caseness.at_or_above is not None:
        return band, total >= caseness.at_or_above
    assert caseness.at_or_below is not None
    return band, total <= caseness.at_or_below


def score(instrument: Instrument, answers: Answers) -> Score:
    """Score one administration; IncompleteAnswers or InvalidAnswer when its rules are broken."""
    _check_answers(instrument, answers)
    scored_ids = instrument.scored_item_ids
    missing = [i for i in scored_ids if answers.get(i) is None]
    _check_missing(instrument, missing)
    values = {
        i: _scored_value(instrument, i, value)
        for i in scored_ids
        if (value := answers.get(i)) is not None
    }
    total = round_score(
        _combine(instrument, list(values.values()), len(scored_ids)), instrument.scoring.decimals
    )
    band, is_case = interpret(instrument, total)
    return Score(
        total=total,
        subscales=_subscales(instrument, values),
        band=band,
        is_case=is_case,
        n_answered=len(values),
        n_missing=len(missing),
        prorated=bool(missing),
    )


def check_total(instrument: Instrument, total: float) -> None:
    """Raise ScoringError unless ``total`` is a score this instrument can give."""
    low, high = instrument.scoring.range.min, instrument.scoring.range.max
    if not low <= total <= high:
        raise ScoringError(f"{instrument.short_name}: {total:g} is outside {low:g}-{high:g}")
    if round(total, instrument.scoring.decimals) != total:
        raise ScoringError(
            f"{instrument.short_name}: {total:g} has more than "
            f"{instrument.scoring.decimals} decimal places"
        )


def score_from_total(instrument: Instrument, total: float) -> Score:
    """Interpret a total entered by staff (for example from a paper form), checking its range."""
    check_total(instrument, total)
    band, is_case = interpret(instrument, total)
    return Score(
        total=float(total),
        subscales={s.id: None for s in instrument.scoring.subscales},
        band=band,
        is_case=is_case,
        entered_as_total=True,
    )


def safety_triggered(instrument: Instrument, answers: Answers) -> list[str]:
    """The safety items whose answer calls for the safety response now."""
    # Deliberately checked before (and apart from) validation: a risk answer must never be lost
    # because another item on the form is malformed.
    return [
        rule.item
        for rule in instrument.safety_items
        if (value := answers.get(rule.item)) is not None and value > rule.above
    ]
