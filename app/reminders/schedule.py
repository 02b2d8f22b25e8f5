"""When reminders fall due: pure functions of a patient's choice, their time zone and a clock.

Times are chosen as wall-clock times in the patient's IANA zone, so a daily 08:00 reminder stays
at 08:00 local across daylight-saving changes. A time that does not exist on a spring-forward
day (01:30 in London on the last Sunday of March) is sent once, as soon as the clock has jumped
past it; a time that happens twice in autumn is sent once, at its first occurrence (or at its
second, when the first had passed before the reminder was chosen).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_DAYS = 0b1111111
DEFAULT_TIME = time(8, 0)
SESSION_LEAD = timedelta(hours=2)


@dataclass(frozen=True)
class Occurrence:
    """One reminder that falls due: a stable key (one per day or per meeting) and an instant."""

    key: str
    kind: str
    due_at: datetime


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone`` (gaps move forward)."""
    naive = datetime.combine(day, at)
    # fold=0: an ambiguous autumn time means its first occurrence; a spring gap resolves with
    # the offset before the change, which lands after the jump once normalised through UTC.
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _instants(day: date, at: time, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Every UTC instant of wall-clock ``at`` on ``day``: two in autumn's repeated hour, else one
    (a spring gap's second reading falls before the jump, so it is not one)."""
    first = local_instant(day, at, zone)
    second = datetime.combine(day, at).replace(tzinfo=zone, fold=1).astimezone(UTC)
    return (first, second) if second > first else (first,)


def instant_from(day: date, at: time, zone: ZoneInfo, *, start: datetime) -> datetime | None:
    """Wall-clock ``at`` on ``day`` at or after ``start``: its first occurrence, or its second in
    autumn's repeated hour; None when it has passed."""
    return next((instant for instant in _instants(day, at, zone) if instant >= start), None)


def on_day(days_mask: int, day: date) -> bool:
    """Whether ``day`` is one of the chosen days of the week."""
    return bool(days_mask & (1 << day.weekday()))


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[date]:
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def daily_occurrences(
    *, kind: str, at: time, days_mask: int, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Occurrence]:
    """Daily reminders of ``kind`` due in [start, end), one per chosen local day."""
    found = []
    for day in _local_days(start, end, zone):
        if not on_day(days_mask, day):
            continue
        due = instant_from(day, at, zone, start=start)
        if due is not None and due < end:
            found.append(Occurrence(key=f"{kind}:{day.isoformat()}", kind=kind, due_at=due))
    return found


def next_daily(*, at: time, days_mask: int, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first daily reminder strictly after ``after`` (None when no day is chosen)."""
    if not days_mask & ALL_DAYS:
        return None
    day = after.astimezone(zone).date()
    for offset in range(0, 9):
        candidate = day + timedelta(days=offset)
        if on_day(days_mask, candidate):
            for due in _instants(candidate, at, zone):
                if due > after:
                    return due
    return None


def session_reminder_at(
    *, starts_at: datetime, at: time, zone: ZoneInfo, not_before: datetime
) -> datetime | None:
    """A meeting's reminder: the chosen time on its local day, or two hours before it if that is
    earlier. A candidate before ``not_before`` (the moment of the choice) is skipped, so choosing
    00:30 on the evening of a meeting still reminds two hours before; None once both have passed.
    """
    day = starts_at.astimezone(zone).date()
    candidates = (*_instants(day, at, zone), starts_at - SESSION_LEAD)
    return min((due for due in candidates if due >= not_before), default=None)


def days_mask_from(weekdays: list[int]) -> int:
    """A mask from weekday numbers (Monday 0 ... Sunday 6)."""
    mask = 0
    for weekday in weekdays:
        mask |= 1 << weekday
    return mask


def weekdays_from(days_mask: int) -> list[int]:
    """Weekday numbers (Monday 0 ... Sunday 6) in a mask."""
    return [weekday for weekday in range(7) if days_mask & (1 << weekday)]
