"""Server-rendered SVG charts: a forest plot, paired before/after plots and a trajectory.

Pure functions returning SVG text (no JavaScript, no web, no database). Colours come from
CSS classes (static/css/app.css), so the charts follow dark mode and print in black.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class ForestRow:
    """One effect size with its interval, already oriented so that positive means better."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    note: str = ""


def _fmt(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def _open(width: int, height: int, ident: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
    ]


def _nice_limit(values: Sequence[float]) -> float:
    largest = max((abs(v) for v in values), default=1.0)
    return max(1.0, math.ceil(largest * 2) / 2)


def forest_plot(rows: Sequence[ForestRow], *, ident: str = "forest") -> str:
    """Estimates as squares with 95% interval whiskers, a line at zero; positive = improvement."""
    label_width, plot_width, row_height, top, bottom = 250, 330, 30, 30, 46
    width = label_width + plot_width + 20
    height = top + row_height * max(len(rows), 1) + bottom
    limit = _nice_limit([v for r in rows for v in (r.estimate, r.low, r.high) if v is not None])

    def x(value: float) -> float:
        return label_width + (value + limit) / (2 * limit) * plot_width

    desc = "; ".join(
        f"{r.label}: "
        + (
            f"{_fmt(r.estimate)} (95% CI {_fmt(r.low)} to {_fmt(r.high)})"
            if r.estimate is not None and r.low is not None and r.high is not None
            else r.note or "not estimated"
        )
        for r in rows
    )
    title = "Effect sizes (Cohen's d_av, the table's headline) with approximate 95% intervals"
    parts = _open(width, height, ident, title, desc)
    parts.append(
        f'<line class="chart-zero" x1="{x(0):.1f}" y1="{top - 10}" x2="{x(0):.1f}" '
        f'y2="{height - bottom + 5}"/>'
    )
    for index, row in enumerate(rows):
        y = top + row_height * index + row_height / 2
        parts.append(f'<text class="chart-label" x="4" y="{y + 5:.1f}">{escape(row.label)}</text>')
        if row.estimate is None or row.low is None or row.high is None:
            parts.append(
                f'<text class="chart-note" x="{label_width + 8}" y="{y + 5:.1f}">'
                f"{escape(row.note or 'not estimated')}</text>"
            )
            continue
        parts.append(
            f'<line class="chart-ci" x1="{x(row.low):.1f}" y1="{y:.1f}" '
            f'x2="{x(row.high):.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<rect class="chart-point" x="{x(row.estimate) - 5:.1f}" y="{y - 5:.1f}" '
            f'width="10" height="10"/>'
        )
    axis_y = height - bottom + 10
    parts.append(
        f'<line class="chart-axis" x1="{label_width}" y1="{axis_y}" '
        f'x2="{label_width + plot_width}" y2="{axis_y}"/>'
    )
    steps = int(limit * 2)
    for step in range(steps + 1):
        value = -limit + step * (2 * limit / steps)
        parts.append(
            f'<text class="chart-tick" x="{x(value):.1f}" y="{axis_y + 16}" '
            f'text-anchor="middle">{_fmt(value)}</text>'
        )
    parts.append(
        f'<text class="chart-note" x="{x(-limit):.1f}" y="{axis_y + 32}">← worse</text>'
        f'<text class="chart-note" x="{x(limit):.1f}" y="{axis_y + 32}" '
        f'text-anchor="end">better →</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


PAIR_WEIGHTS = 4  # line thicknesses, chart-pair-1 (fewest people) to chart-pair-4 (most)


def _pair_weight(people: int, most: int) -> int:
    return math.ceil(PAIR_WEIGHTS * people / most)


def paired_plot(
    pair_counts: Mapping[tuple[float, float], int],
    *,
    low: float,
    high: float,
    title: str,
    before: str = "before",
    after: str = "after",
    ident: str = "paired",
) -> str:
    """Each distinct before and after pair joined by one line, thicker the more people share
    it (a clinic has thousands of people but few distinct pairs); the means drawn thick."""
    width, height, left, right, top, bottom = 260, 220, 44, 216, 16, 34

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    n = sum(pair_counts.values())
    mean_pre = sum(p * k for (p, _), k in pair_counts.items()) / n if n else None
    mean_post = sum(q * k for (_, q), k in pair_counts.items()) / n if n else None
    most = max(pair_counts.values(), default=1)
    desc = (
        f"{n} people. Mean {before} {mean_pre:.2f}, mean {after} {mean_post:.2f}. "
        f"Each line is one pair of scores; the thicker it is, the more people share it "
        f"(at most {most})."
        if mean_pre is not None and mean_post is not None
        else "No pairs yet."
    )
    parts = _open(width, height, ident, title, desc)
    parts.append(
        f'<line class="chart-axis" x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/>'
    )
    for value in (low, (low + high) / 2, high):
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value:g}</text>'
        )
    # One path per thickness (a clinic has hundreds of distinct pairs), thickest last, on top.
    segments: dict[int, list[str]] = defaultdict(list)
    for (pre, post), people in pair_counts.items():
        segments[_pair_weight(people, most)].append(
            f"M{left + 20} {y(pre):.1f}L{right - 20} {y(post):.1f}"
        )
    for weight, drawn in sorted(segments.items()):
        parts.append(f'<path class="chart-pair chart-pair-{weight}" d="{"".join(drawn)}"/>')
    if mean_pre is not None and mean_post is not None:
        parts.append(
            f'<line class="chart-mean" x1="{left + 20}" y1="{y(mean_pre):.1f}" '
            f'x2="{right - 20}" y2="{y(mean_post):.1f}"/>'
        )
    parts.append(
        f'<text class="chart-tick" x="{left + 20}" y="{height - 10}" '
        f'text-anchor="middle">{escape(before)}</text>'
        f'<text class="chart-tick" x="{right - 20}" y="{height - 10}" '
        f'text-anchor="middle">{escape(after)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def trajectory(
    points: Sequence[tuple[str, float]],
    *,
    low: float,
    high: float,
    title: str,
    ident: str = "trajectory",
) -> str:
    """One person's scores over the timepoints, in order, joined by a line."""
    width, height, left, right, top, bottom = 340, 200, 44, 326, 16, 44

    def x(index: int) -> float:
        if len(points) == 1:
            return (left + right) / 2
        return left + 12 + index * (right - left - 24) / (len(points) - 1)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    desc = ", ".join(f"{label}: {value:g}" for label, value in points) or "No scores yet."
    parts = _open(width, height, ident, title, desc)
    parts.append(
        f'<line class="chart-axis" x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/>'
    )
    for value in (low, (low + high) / 2, high):
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value:g}</text>'
        )
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
        parts.append(f'<polyline class="chart-trajectory" points="{path}"/>')
    for index, (label, value) in enumerate(points):
        parts.append(f'<circle class="chart-dot" cx="{x(index):.1f}" cy="{y(value):.1f}" r="4"/>')
        anchor_y = height - bottom + 16 + (12 if index % 2 and len(points) > 5 else 0)
        parts.append(
            f'<text class="chart-tick" x="{x(index):.1f}" y="{anchor_y}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
