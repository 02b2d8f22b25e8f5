"""A patient's own progress, week by week: pure arithmetic, no web and no database."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean

from app.programme.adherence import AdherenceRule

MEASURES = ("pain_intensity", "pain_distress", "mood")
DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class WeekProgress:
    number: int
    first: date
    last: date
    practice_days: int
    minutes: int
    met: bool
    # Days with some practice that the rule does not count (yet): shown as partly filled.
    partial_days: int = 0
    days_practised: int = 0  # any practice at all: what "you practised on N days" says


def weekly_progress(
    rule: AdherenceRule,
    *,
    week_starts: Sequence[tuple[int, date]],
    minutes: Mapping[date, float],
    bad_days: Collection[date] = (),
) -> list[WeekProgress]:
    """Practice days (by the clinic's rule), partial days and minutes in each programme week."""
    counted = rule.practice_days(minutes, bad_days)
    weeks = []
    for number, first in week_starts:
        last = first + timedelta(days=DAYS_PER_WEEK - 1)
        days = sum(1 for day in counted if first <= day <= last)
        some = {day for day, m in minutes.items() if first <= day <= last and m > 0}
        total = sum(m for day, m in minutes.items() if first <= day <= last)
        weeks.append(
            WeekProgress(
                number,
                first,
                last,
                days,
                round(total),
                rule.week_met(days),
                partial_days=len(some - counted),
                days_practised=len(some | {d for d in counted if first <= d <= last}),
            )
        )
    return weeks


@dataclass(frozen=True)
class WeekRatings:
    number: int
    pain_intensity: float | None
    pain_distress: float | None
    mood: float | None
    n: int


def weekly_ratings(
    ratings: Iterable[object], *, week_starts: Sequence[tuple[int, date]]
) -> list[WeekRatings]:
    """Mean of each rating per programme week, from objects with local_date and the measures."""
    rows = list(ratings)
    result = []
    for number, first in week_starts:
        last = first + timedelta(days=DAYS_PER_WEEK - 1)
        in_week = [r for r in rows if first <= getattr(r, "local_date") <= last]  # noqa: B009
        means: dict[str, float | None] = {}
        for name in MEASURES:
            values = [getattr(r, name) for r in in_week if getattr(r, name) is not None]
            means[name] = round(fmean(values), 1) if values else None
        result.append(WeekRatings(number, n=len(in_week), **means))
    return result


@dataclass(frozen=True)
class RatingChange:
    """The first and latest weekly mean of one rating: the chart's one-line summary."""

    first_week: int
    first: float
    last_week: int
    last: float


def rating_change(weeks: Sequence[WeekRatings], name: str) -> RatingChange | None:
    """How one rating moved from the first week that has it to the latest; None if under two."""
    rated = [(w.number, value) for w in weeks if (value := getattr(w, name)) is not None]
    if len(rated) < 2:
        return None
    (first_week, first), (last_week, last) = rated[0], rated[-1]
    return RatingChange(first_week, first, last_week, last)


@dataclass(frozen=True)
class PracticeEffect:
    """The average before->after change of each rating for one practice, with n."""

    label: str
    n: int
    pain_intensity: float | None
    pain_distress: float | None
    mood: float | None


def practice_effects(rated: Iterable[tuple[str, object, object]]) -> list[PracticeEffect]:
    """Average after-minus-before change per practice label, most often rated first."""
    changes: dict[str, dict[str, list[int]]] = {}
    counts: dict[str, int] = {}
    for label, before, after in rated:
        counts[label] = counts.get(label, 0) + 1
        per_label = changes.setdefault(label, {name: [] for name in MEASURES})
        for name in MEASURES:
            b, a = getattr(before, name), getattr(after, name)
            if b is not None and a is not None:
                per_label[name].append(a - b)
    effects = [
        PracticeEffect(
            label,
            counts[label],
            **{
                name: round(fmean(values), 1) if values else None
                for name, values in per_label.items()
            },
        )
        for label, per_label in changes.items()
    ]
    return sorted(effects, key=lambda e: (-e.n, e.label))


@dataclass(frozen=True)
class ChartSeries:
    name: str
    points: str  # SVG polyline points
    dots: list[tuple[float, float, float]]  # x, y, value


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: int
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]
    series: list[ChartSeries]


def ratings_chart(weeks: Sequence[WeekRatings], *, width: int = 280, height: int = 200) -> Chart:
    """Where to draw each week's mean ratings on a 0-10 scale (the template draws the SVG).

    Narrow on purpose: on a phone the drawing is scaled up, never down, so its 16-unit labels
    stay at least 14 CSS px even on a 320 px screen."""
    left, right, top, bottom = 30, 12, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(weeks) - 1, 1)

    def x(index: int) -> float:
        return round(left + index * step, 1)

    def y(value: float) -> float:
        return round(top + plot_h * (1 - value / 10), 1)

    series = []
    for name in MEASURES:
        dots = [
            (x(i), y(value), value)
            for i, week in enumerate(weeks)
            if (value := getattr(week, name)) is not None
        ]
        series.append(ChartSeries(name, " ".join(f"{dx},{dy}" for dx, dy, _ in dots), dots))
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        bottom=height - bottom,
        x_labels=[(x(i), str(week.number)) for i, week in enumerate(weeks)],
        y_ticks=[(y(v), v) for v in (0, 5, 10)],
        series=series,
    )
