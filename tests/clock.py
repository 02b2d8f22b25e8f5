"""The instants that date- and time-dependent tests run at, and the `clock` fixture's handle.

Why the app clock and not time-machine: every "now" and "today" the app uses is already read
from `app.clock`, so fixing it there fixes the services, pages, demo seeder and scheduler. What
time-machine adds (moving `datetime.now` inside libraries) would also move the clocks that must
keep running: Playwright's and httpx's timeouts, uvicorn's and asyncio's timers, session-cookie
signatures. And it could not reach what matters most here: child processes (the `tend` CLI, a
server under test; those get TEND_NOW) and PostgreSQL's own clock (the app never asks it for
the time: no now() or CURRENT_TIMESTAMP in SQL). That nothing else reads the wall clock is
checked by `.ci/run`'s second pass of the suite under faketime.

Browser tests (tests/browser/) are clocked too, by their own `clock` fixture in
tests/browser/conftest.py: every one runs at `weekday_noon` unless its marker names instants.
The app they drive runs in the test process on a clock that starts at the instant and keeps
ticking (the browser drives it in real time), and each browser context's JavaScript clock starts
at the same instant: Playwright's `clock.install` in Chromium, a shifted `Date` in every page in
Firefox (tests/firefox/journeys.mjs, given TEND_START_AT). Service workers keep the real time.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app import clock as app_clock

LONDON = ZoneInfo("Europe/London")

# `@pytest.mark.clock` runs a test at each of these (or at the names the marker lists).
INSTANTS: dict[str, datetime] = {
    # A Wednesday in January: nothing special, GMT.
    "weekday_noon": datetime(2027, 1, 13, 12, 0, tzinfo=LONDON),
    # The clocks go forward at 01:00 GMT on 28 March 2027: half an hour before, on GMT.
    "spring_0030": datetime(2027, 3, 28, 0, 30, tzinfo=LONDON),
    # 01:30 does not exist in London that night; this is 01:30 GMT, which is 02:30 BST.
    "spring_0130": datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
    # The clocks go back at 02:00 BST on 31 October 2027. 00:30 BST is still 30 October in UTC.
    "autumn_0030": datetime(2027, 10, 31, 0, 30, tzinfo=LONDON),
    # 01:30 happens twice: first on BST (00:30 UTC), then an hour later on GMT (01:30 UTC).
    "autumn_0130_bst": datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=0),
    "autumn_0130_gmt": datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=1),
    # Half an hour before the year ends: "tomorrow" is next year.
    "new_years_eve_2330": datetime(2026, 12, 31, 23, 30, tzinfo=LONDON),
    # A day that exists one year in four.
    "leap_day_noon": datetime(2028, 2, 29, 12, 0, tzinfo=LONDON),
}


# A test whose answer depends only on the clinic's date (the demo clinic, seeded day by day) runs
# once per London date above, at that date's earliest instant: the three that share 28 March
# or 31 October with an earlier one add nothing but minutes of seeding.
DATE_INSTANTS = (
    "weekday_noon",
    "spring_0030",
    "autumn_0030",
    "new_years_eve_2330",
    "leap_day_noon",
)

# On PostgreSQL a clock test runs at these only (tests/conftest.py says why): a plain day, the
# hour that happens twice in autumn, and the end of the year.
POSTGRES_INSTANTS = ("weekday_noon", "autumn_0130_gmt", "new_years_eve_2330")


@dataclass
class TestClock:
    """What the `clock` fixture gives a test: the instant it runs at, and ways to move it.

    `name` is None for a test without `@pytest.mark.clock`: the app clock then reads the
    system clock until the test sets it.
    """

    __test__ = False  # not a test class, whatever its name says

    name: str | None

    def set(self, instant: datetime) -> None:
        """Fix the clock at `instant`; a ticking clock (browser tests) ticks on from there."""
        app_clock.set_now(instant, ticking=app_clock.is_ticking())

    def advance(self, delta: timedelta) -> datetime:
        """Move the fixed clock on (a negative delta moves it back); returns the new now."""
        app_clock.set_now(app_clock.now() + delta, ticking=app_clock.is_ticking())
        return app_clock.now()

    def now(self) -> datetime:
        return app_clock.now()

    def today(self) -> date:
        """Today in the clinic's zone (London), as the app sees it."""
        return app_clock.today(LONDON)

    def environment(self) -> dict[str, str]:
        """TEND_NOW for a child process (the CLI, a server), so it sees this instant too."""
        return child_environment()


def child_environment() -> dict[str, str]:
    """TEND_NOW for a child process when the app clock is fixed; nothing when it is not."""
    if not app_clock.is_fixed():
        return {}
    return {app_clock.FIXED_NOW_VARIABLE: app_clock.now().isoformat()}
