"""The adherence definition: one rule per programme, stated in words wherever it is used.

A day counts when the patient practised at least ``minutes_per_day`` minutes in total that
local day; a week meets the target with at least ``days_per_week`` such days; a completer
met the target in at least ``completer_weeks`` of the programme's weeks.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AdherenceRule:
    minutes_per_day: int
    days_per_week: int
    completer_weeks: int
    total_weeks: int

    def describe(self) -> str:
        """The rule in plain words, for every page and export that uses it."""
        return (
            f"A practice day is a day with at least {self.minutes_per_day} minutes of practice "
            f"in total. A week meets the target with at least {self.days_per_week} practice "
            f"days. A completer met the target in at least {self.completer_weeks} of the "
            f"{self.total_weeks} weeks."
        )

    def practice_days(self, minutes_by_day: Mapping[date, float]) -> set[date]:
        """The days that count as practice days."""
        return {day for day, minutes in minutes_by_day.items() if minutes >= self.minutes_per_day}

    def week_met(self, practice_days_in_week: int) -> bool:
        """Whether a week with this many practice days meets the target."""
        return practice_days_in_week >= self.days_per_week

    def is_completer(self, weeks_met: Iterable[bool]) -> bool:
        """Whether enough weeks met the target."""
        return sum(weeks_met) >= self.completer_weeks
