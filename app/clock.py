"""The one clock: every "now" and "today" in Tend is read here, so tests can set it.

Code never calls `datetime.now()` or `date.today()` itself. Tests move the clock with
`set_now` (or the `clock` fixture in tests/conftest.py) and every service, page, the demo
seeder and the reminder scheduler see the same instant.

A child process (the `tend` CLI run by a test, a server started for a test) cannot share
this module's state, so the clock also starts fixed when TEND_NOW holds an ISO 8601 instant
with an offset (e.g. `2027-10-31T01:30:00+00:00`). The settings refuse TEND_NOW in
production: a frozen clock there would stop reminders and date every record wrongly.

A fixed clock stands still unless set with `ticking=True`: then it starts at the instant and
runs on at the rate of the monotonic clock, for a server that a browser test drives in real time
(undo windows, the outbox's retries and a page's timers all expect time to pass). Only code sets
a ticking clock; no environment variable does, so production cannot be started on one.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

FIXED_NOW_VARIABLE = "TEND_NOW"


def _from_environment() -> datetime | None:
    value = os.environ.get(FIXED_NOW_VARIABLE, "").strip()
    if not value:
        return None
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{FIXED_NOW_VARIABLE} needs an offset, e.g. {value}+00:00")
    return instant.astimezone(UTC)


_fixed: datetime | None = _from_environment()
# The monotonic reading when a ticking clock was set at `_fixed`; None while it stands still.
_ticking_since: float | None = None


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    if _fixed is None:
        return datetime.now(UTC)
    if _ticking_since is None:
        return _fixed
    return _fixed + timedelta(seconds=time.monotonic() - _ticking_since)


def now_in(zone: str | tzinfo) -> datetime:
    """The current instant as wall-clock time in `zone` (an IANA name or a tzinfo)."""
    return now().astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)


def today(zone: str | tzinfo) -> date:
    """Today's date on the wall clock of `zone`: a day starts at local midnight, not UTC's."""
    return now_in(zone).date()


def is_fixed() -> bool:
    """Whether the clock is fixed (by set_now, fixed_at or TEND_NOW) rather than the system's."""
    return _fixed is not None


def is_ticking() -> bool:
    """Whether the fixed clock runs on from its instant (`set_now(..., ticking=True)`)."""
    return _ticking_since is not None


def set_now(instant: datetime | None, *, ticking: bool = False) -> None:
    """Fix the clock at `instant` (timezone-aware), or give it back to the system with None.

    With `ticking`, the clock starts at `instant` and runs on from there instead of standing
    still. None means the system clock even when TEND_NOW fixed it at start: tests reset with it.
    """
    global _fixed, _ticking_since
    if instant is not None and instant.tzinfo is None:
        raise ValueError("the clock takes timezone-aware instants only")
    _fixed = instant.astimezone(UTC) if instant is not None else None
    _ticking_since = time.monotonic() if ticking and instant is not None else None


@contextmanager
def fixed_at(instant: datetime) -> Iterator[None]:
    """Run a block with the clock fixed (standing still) at `instant`, then restore what it
    was: a ticking clock resumes as if the block had not stopped it."""
    global _fixed, _ticking_since
    previous = (_fixed, _ticking_since)
    set_now(instant)
    try:
        yield
    finally:
        _fixed, _ticking_since = previous
