"""Tests of the outcome-measurement core; ``instrument_data`` builds small made-up instruments."""

from typing import Any


def instrument_data(**changes: Any) -> dict[str, Any]:
    """A valid four-item 0-3 instrument as raw data; ``changes`` replace top-level fields."""
    data: dict[str, Any] = {
        "id": "demo",
        "version": "1",
        "title": "Demo measure",
        "short_name": "Demo",
        "description": "A made-up instrument for tests.",
        "licence": "Made up for tests.",
        "citation": "None.",
        "higher_is_better": False,
        "options": [
            {"value": 0, "label": "Never"},
            {"value": 1, "label": "Sometimes"},
            {"value": 2, "label": "Often"},
            {"value": 3, "label": "Always"},
        ],
        "items": [{"id": f"i{n}", "text": f"Item {n}"} for n in range(1, 5)],
        "scoring": {"method": "sum", "range": {"min": 0, "max": 12}},
        "bands": [
            {"min": 0, "max": 5, "label": "Low"},
            {"min": 6, "max": 12, "label": "High"},
        ],
    }
    data.update(changes)
    return data
