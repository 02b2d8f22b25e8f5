"""A patient's progress arithmetic: practice days by the programme's rule, weekly means, and
the average change around each practice."""

from dataclasses import dataclass
from datetime import date

from app.practice.progress import practice_effects, ratings_chart, weekly_progress, weekly_ratings
from app.practice.schemas import Ratings
from app.programme.adherence import AdherenceRule

RULE = AdherenceRule(minutes_per_day=10, days_per_week=5, completer_weeks=5, total_weeks=8)
WEEKS = [(1, date(2026, 3, 2)), (2, date(2026, 3, 9))]


def test_a_day_counts_only_when_its_minutes_reach_the_rule() -> None:
    minutes = {date(2026, 3, 2): 10.0, date(2026, 3, 3): 9.5, date(2026, 3, 9): 30.0}
    week_1, week_2 = weekly_progress(RULE, week_starts=WEEKS, minutes=minutes)
    assert (week_1.practice_days, week_1.minutes, week_1.met) == (1, 20, False)
    assert (week_2.practice_days, week_2.minutes) == (1, 30)


@dataclass
class Rated:
    local_date: date
    pain_intensity: int | None
    pain_distress: int | None
    mood: int | None


def test_weekly_means_skip_missing_ratings() -> None:
    rows = [Rated(date(2026, 3, 2), 6, None, 4), Rated(date(2026, 3, 3), 4, 5, None)]
    week_1, week_2 = weekly_ratings(rows, week_starts=WEEKS)
    assert (week_1.pain_intensity, week_1.pain_distress, week_1.mood, week_1.n) == (5, 5, 4, 2)
    assert week_2.n == 0 and week_2.mood is None
    chart = ratings_chart([week_1, week_2])
    assert len(chart.series[0].dots) == 1  # week 2 has no ratings: no point drawn


def test_practice_effects_average_after_minus_before_with_n() -> None:
    effects = practice_effects(
        [
            ("Body scan", Ratings(pain_intensity=7, mood=3), Ratings(pain_intensity=5, mood=5)),
            ("Body scan", Ratings(pain_intensity=6), Ratings(pain_intensity=5, mood=6)),
            ("Breathing", Ratings(mood=4), Ratings(mood=5)),
        ]
    )
    assert [(e.label, e.n, e.pain_intensity, e.mood) for e in effects] == [
        ("Body scan", 2, -1.5, 2.0),
        ("Breathing", 1, None, 1.0),
    ]


def test_a_bad_day_practice_counts_whatever_its_length_and_short_days_are_partial() -> None:
    first = date(2026, 3, 2)
    minutes = {first: 3.0, date(2026, 3, 3): 4.0, date(2026, 3, 4): 12.0}
    bad_days = {first}  # 3 minutes of the bad-day practice
    (week,) = weekly_progress(RULE, week_starts=[(1, first)], minutes=minutes, bad_days=bad_days)
    assert (week.practice_days, week.partial_days, week.days_practised) == (2, 1, 3)
    strict = AdherenceRule(10, 5, 5, 8, bad_day_counts=False)
    (week,) = weekly_progress(strict, week_starts=[(1, first)], minutes=minutes, bad_days=bad_days)
    assert (week.practice_days, week.partial_days) == (1, 2)
    assert "whatever its length" in RULE.describe()
    assert "counts only by its minutes" in strict.describe()
