"""The one clock: fixed by the marker here, by TEND_NOW in a child, never in production."""

import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from app import clock as app_clock
from app.config import PROJECT_ROOT, Settings
from tests.clock import INSTANTS, LONDON, TestClock, child_environment


@pytest.mark.clock
def test_a_marked_test_runs_at_its_instant(clock: TestClock) -> None:
    assert clock.name is not None
    # Through UTC: Python never calls an instant in autumn's repeated hour equal to one in
    # another zone (PEP 495), whatever the instants.
    assert app_clock.now() == INSTANTS[clock.name].astimezone(UTC)
    assert clock.today() == INSTANTS[clock.name].astimezone(LONDON).date()


def test_an_unmarked_test_reads_the_system_clock(clock: TestClock) -> None:
    assert clock.name is None and not app_clock.is_fixed()
    assert abs((app_clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_a_ticking_clock_starts_at_its_instant_and_runs_on() -> None:
    start = INSTANTS["new_years_eve_2330"].astimezone(UTC)
    app_clock.set_now(start, ticking=True)
    first = app_clock.now()
    time.sleep(0.05)
    second = app_clock.now()
    assert start <= first < second < start + timedelta(seconds=5)
    assert second - first >= timedelta(seconds=0.05)


def test_a_clock_fixed_inside_a_ticking_one_stands_still_then_the_ticking_resumes() -> None:
    start = INSTANTS["autumn_0130_gmt"].astimezone(UTC)  # PEP 495: compare in UTC
    app_clock.set_now(start, ticking=True)
    inner = INSTANTS["leap_day_noon"]
    with app_clock.fixed_at(inner):
        time.sleep(0.02)
        assert app_clock.now() == inner and not app_clock.is_ticking()
    time.sleep(0.02)
    resumed = app_clock.now()
    assert app_clock.is_ticking() and start + timedelta(seconds=0.04) <= resumed
    assert resumed < start + timedelta(seconds=5)


@pytest.mark.clock("spring_0030")
def test_moving_a_ticking_clock_keeps_it_ticking(clock: TestClock) -> None:
    app_clock.set_now(app_clock.now(), ticking=True)
    moved = clock.advance(timedelta(hours=1))
    time.sleep(0.02)
    assert app_clock.is_ticking() and app_clock.now() > moved
    assert moved - INSTANTS["spring_0030"] >= timedelta(hours=1)


@pytest.mark.clock("autumn_0130_gmt")
def test_a_child_process_sees_the_fixed_instant() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "from app import clock; print(clock.now().isoformat())"],
        env={"PATH": "", **child_environment()},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert datetime.fromisoformat(shown) == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)


def test_production_refuses_a_fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEND_NOW", "2027-10-31T01:30:00+00:00")
    with pytest.raises(ValidationError, match="TEND_NOW"):
        Settings(environment="production", secret_key="a-production-secret-long-enough-1234")
    assert Settings(environment="development").environment == "development"


def test_the_service_worker_reads_no_clock() -> None:
    """Browser tests set the clock of pages only (Playwright's clock and the Firefox journeys'
    shifted Date do not reach a service worker), so they cover every date Tend's JavaScript
    computes only while the worker and the scripts it imports read no time."""
    worker = PROJECT_ROOT / "static" / "js" / "sw.js"
    imported = re.findall(r'importScripts\("/static/js/([\w.-]+)"\)', worker.read_text())
    assert imported, "sw.js imports its push handler"
    for script in [worker, *(worker.parent / name for name in imported)]:
        reads = re.findall(r"\bDate\b|performance\.now|\.timeStamp\b", script.read_text())
        assert reads == [], f"{script.name} reads the clock: {reads}"
