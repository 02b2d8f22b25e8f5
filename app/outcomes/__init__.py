"""Outcome measurement: instruments as data, scoring, and pre-post statistics."""

from app.outcomes.definitions import (
    INSTRUMENTS_DIR,
    Instrument,
    InstrumentFileError,
    load_instrument,
    load_instruments,
)
from app.outcomes.effect_size import Correlation, PairedSummary, paired_summary, spearman
from app.outcomes.scoring import (
    IncompleteAnswers,
    InvalidAnswer,
    Score,
    ScoringError,
    safety_triggered,
    score,
    score_from_total,
)

__all__ = [
    "INSTRUMENTS_DIR",
    "Correlation",
    "IncompleteAnswers",
    "Instrument",
    "InstrumentFileError",
    "InvalidAnswer",
    "PairedSummary",
    "Score",
    "ScoringError",
    "load_instrument",
    "load_instruments",
    "paired_summary",
    "safety_triggered",
    "score",
    "score_from_total",
    "spearman",
]
