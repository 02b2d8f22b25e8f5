"""The patient journeys in a second engine: Debian's firefox-esr, driven by puppeteer-core over
WebDriver BiDi (tests/firefox/journeys.mjs), with axe-core on the same pages.

Skips when Firefox, Node or the npm packages (`npm ci --prefix tests`) are missing, unless
TEND_REQUIRE_BROWSER=1 (set by .ci/run), which makes that a failure.

Like the Chromium tests they run at weekday_noon: the served app ticks from it, and the phone's
pages start their Date there (TEND_START_AT), in London (TZ) as the clinic is.
"""

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import select

from app import clock as app_clock
from app.config import Settings
from app.db import open_session
from app.main import create_app
from app.outcomes.models import Administration
from app.practice.models import PracticeLog
from tests.browser.conftest import _free_port
from tests.clock import TestClock
from tests.factories import PASSWORD, World

TESTS = Path(__file__).resolve().parents[1]
JOURNEYS = TESTS / "firefox" / "journeys.mjs"
FIREFOX = os.environ.get("TEND_FIREFOX", "/usr/bin/firefox-esr")
# Week 1 has begun (practice on Today) and the baseline questionnaires are still due.
pytestmark = pytest.mark.world(started_days_ago=3)


def _missing() -> str | None:
    if not Path(FIREFOX).exists():
        return f"no Firefox at {FIREFOX} (apt-get install -y firefox-esr)"
    if shutil.which("node") is None:
        return "no node on PATH (apt-get install -y nodejs npm)"
    if not (TESTS / "node_modules" / "puppeteer-core").is_dir():
        return "puppeteer-core is not installed (npm ci --prefix tests)"
    return None


@pytest.fixture
def firefox_ready() -> None:
    reason = _missing()
    if reason:
        if os.environ.get("TEND_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Firefox journeys are required here: {reason}")
        pytest.skip(reason)


class RestartableServer:
    """The app on one loopback port that can be stopped and started again, so that the phone
    can lose its signal while its service worker and outbox stay in the browser."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=15)


@pytest.fixture
def server(browser_settings: Settings, world_with_audio: World) -> Iterator[RestartableServer]:
    served = RestartableServer(browser_settings)
    served.start()
    yield served
    served.stop()


def test_patient_journeys_and_axe_in_firefox(
    firefox_ready: None,
    server: RestartableServer,
    world: World,
    browser_engine: Engine,
    tmp_path: Path,
    clock: TestClock,
) -> None:
    # Screenshots to look at: TEND_SHOTS names a folder outside the repository.
    shots = Path(os.environ.get("TEND_SHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    node = subprocess.Popen(
        ["node", str(JOURNEYS), server.base_url, "P-A1", PASSWORD, str(shots)],
        cwd=TESTS,
        env={
            **os.environ,
            "TEND_SECOND_LOGIN": "P-A2",
            "TEND_START_AT": app_clock.now().isoformat(),
            "TZ": "Europe/London",
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert node.stdin is not None and node.stdout is not None
    said = []
    for line in node.stdout:
        said.append(line.rstrip())
        if line.startswith("server:stop"):
            server.stop()  # no signal: what the phone sees when the engine cannot fake it
            node.stdin.write("server:stopped\n")
            node.stdin.flush()
        elif line.startswith("server:start"):
            server.start()
            node.stdin.write("server:started\n")
            node.stdin.flush()
    code = node.wait(timeout=60)
    transcript = "\n".join(said)
    assert code == 0, transcript
    for journey in (
        "sign in",
        "today",
        "play with seeking",
        "log with ratings",
        "save week offline",
        "offline log",
        "back online, stored once",
        "reflections",
        "questionnaires",
        "log in private browsing",
    ):
        assert f"ok {journey}" in said, transcript
    # What the server holds, independently of what the page said.
    with open_session(browser_engine) as session:
        logs = session.exec(select(PracticeLog)).all()
        sent = session.exec(select(Administration)).all()
    by_patient = sorted((log.enrolment_id, log.kind.value) for log in logs)
    a1, a2 = (enrolment.id for enrolment in (world.enrolments["A1"], world.enrolments["A2"]))
    assert by_patient == sorted([(a1, "exercise"), (a1, "own"), (a2, "own")])
    # Dated by the phone's clock, which started at the test's instant.
    assert {log.local_date for log in logs} == {clock.today()}
    assert not any(log.clock_suspect for log in logs)
    assert [a.instrument_id for a in sent] == ["phq9"]
