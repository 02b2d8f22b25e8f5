"""The one clock: every "now" and "today" in Tend is read here, so tests can set it.

Code never calls `datetime.now()` or `date.today()` itself. Tests move the clock with
`set_now` (or the `clock` fixture in tests/conftest.py) and every service, page, the demo
seeder and the reminder scheduler see the same instant.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

_fixed: datetime | None = None


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def now_in(zone: str | tzinfo) -> datetime:
    """The current instant as wall-clock time in `zone` (an IANA name or a tzinfo)."""
    return now().astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)


def today(zone: str | tzinfo) -> date:
    """Today's date on the wall clock of `zone`: a day starts at local midnight, not UTC's."""
    return now_in(zone).date()


def set_now(instant: datetime | None) -> None:
    """Fix the clock at `instant` (timezone-aware), or give it back to the system with None."""
    global _fixed
    if instant is not None and instant.tzinfo is None:
        raise ValueError("the clock takes timezone-aware instants only")
    _fixed = instant.astimezone(UTC) if instant is not None else None


@contextmanager
def fixed_at(instant: datetime) -> Iterator[None]:
    """Run a block with the clock fixed at `instant`, then restore what it was."""
    previous = _fixed
    set_now(instant)
    try:
        yield
    finally:
        set_now(previous)
