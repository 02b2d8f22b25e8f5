"""Outcome measurement: instruments as data and scoring."""

from app.outcomes.definitions import (
    INSTRUMENTS_DIR,
    Instrument,
    InstrumentFileError,
    load_instrument,
    load_instruments,
)
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
    "IncompleteAnswers",
    "Instrument",
    "InstrumentFileError",
    "InvalidAnswer",
    "Score",
    "ScoringError",
    "load_instrument",
    "load_instruments",
    "safety_triggered",
    "score",
    "score_from_total",
]
