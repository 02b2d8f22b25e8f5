"""Outcome measurement: instruments as data, scoring, pre-post statistics and reliable change."""

from app.outcomes.definitions import (
    INSTRUMENTS_DIR,
    Instrument,
    InstrumentFileError,
    load_instrument,
    load_instruments,
)
from app.outcomes.effect_size import Correlation, PairedSummary, paired_summary, spearman
from app.outcomes.reliable_change import (
    ChangeAssessment,
    ChangeCategory,
    NoReliableChangeRule,
    assess_change,
    classify_change,
    count_categories,
    reliable_change_threshold,
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
    "ChangeAssessment",
    "ChangeCategory",
    "Correlation",
    "IncompleteAnswers",
    "Instrument",
    "InstrumentFileError",
    "InvalidAnswer",
    "NoReliableChangeRule",
    "PairedSummary",
    "Score",
    "ScoringError",
    "assess_change",
    "classify_change",
    "count_categories",
    "load_instrument",
    "load_instruments",
    "paired_summary",
    "reliable_change_threshold",
    "safety_triggered",
    "score",
    "score_from_total",
    "spearman",
]
