"""The adherence definition: one rule per clinic and programme, stated in words wherever it is
used.

A day counts when the patient practised at least ``minutes_per_day`` minutes in total that
local day, or (when ``bad_day_counts``) did a bad-day practice that day, however short: the
5-minute practice the app suggests on a flare day must not be a day that never counts. A week
meets the target with at least ``days_per_week`` such days; a completer met the target in at
least ``completer_weeks`` of the programme's weeks.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AdherenceRule:
    minutes_per_day: int
    days_per_week: int
    completer_weeks: int
    total_weeks: int
    bad_day_counts: bool = True

    def describe(self) -> str:
        """The rule in plain words, for every page and export that uses it."""
        bad_day = (
            "A day with a bad-day practice counts as a practice day whatever its length."
            if self.bad_day_counts
            else "A bad-day practice counts only by its minutes."
        )
        return (
            f"A practice day is a day with at least {self.minutes_per_day} minutes of practice "
            f"in total. {bad_day} A week meets the target with at least {self.days_per_week} "
            f"practice days. A completer met the target in at least {self.completer_weeks} of "
            f"the {self.total_weeks} weeks."
        )

    def practice_days(
        self, minutes_by_day: Mapping[date, float], bad_days: Collection[date] = ()
    ) -> set[date]:
        """The days that count as practice days (``bad_days``: days with a bad-day practice)."""
        counted = {
            day for day, minutes in minutes_by_day.items() if minutes >= self.minutes_per_day
        }
        return counted | set(bad_days) if self.bad_day_counts else counted

    def week_met(self, practice_days_in_week: int) -> bool:
        """Whether a week with this many practice days meets the target."""
        return practice_days_in_week >= self.days_per_week

    def is_completer(self, weeks_met: Iterable[bool]) -> bool:
        """Whether enough weeks met the target."""
        return sum(weeks_met) >= self.completer_weeks
