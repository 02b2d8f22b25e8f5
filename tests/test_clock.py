"""The one clock: fixed by the marker here, by TEND_NOW in a child, never in production."""

import subprocess
import sys
from datetime import UTC, datetime

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
