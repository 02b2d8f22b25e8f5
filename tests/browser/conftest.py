"""Browser tests: the real app served over HTTP in a background thread, driven by Debian's
Chromium through Playwright, with axe-core for accessibility.

They skip when Chromium is missing, unless TEND_REQUIRE_BROWSER=1 (set by .ci/run).

They run at a fixed instant, never the wall clock: weekday_noon, or the instants a test's
`@pytest.mark.clock` names. The served app (in this process) starts there and keeps ticking, and
every browser context's JavaScript clock starts at the same instant (`start_clock`).
"""

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from app import clock as app_clock
from app.config import Settings
from app.db import create_db_engine
from app.main import create_app
from tests.browser.patient_audio import install_test_audio
from tests.clock import INSTANTS, TestClock
from tests.factories import World

CHROMIUM = os.environ.get("TEND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
# Running the tests leaves the tracked tree alone: screenshots go to a temporary folder unless
# TEND_SCREENSHOTS_DIR says otherwise (`make screenshots` points it at docs/screenshots/).
SCREENSHOTS = Path(
    os.environ.get("TEND_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "tend-screenshots"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # One worker runs all browser tests: two Chromiums on two cores starve each other.
            item.add_marker(pytest.mark.xdist_group("browser"))


# The instant a browser test runs at when its marker names none.
BROWSER_INSTANT = "weekday_noon"


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[TestClock]:
    """The app clock for a browser test: it starts at the test's instant and keeps ticking, as
    the browser drives the app in real time (undo windows, retries and timers expect time to
    pass). Replaces tests/conftest.py's `clock`, which stands still and defaults to the wall."""
    name: str = getattr(request, "param", BROWSER_INSTANT)
    app_clock.set_now(INSTANTS[name], ticking=True)
    yield TestClock(name)
    app_clock.set_now(None)


def start_clock(context: Any) -> Any:
    """Start a browser context's JavaScript clock (Date, timers, performance.now) at the app
    clock's now, ticking from there, so the phone and the server agree what day and hour it is.
    Service workers keep the real time: Playwright's clock reaches pages only (Tend's worker
    reads no time). Returns the context."""
    context.clock.install(time=app_clock.now())
    return context


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def browser_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    """A fresh migrated SQLite database for the served app (the engines are covered elsewhere)."""
    path = tmp_path / "tend.db"
    shutil.copy(sqlite_template, path)
    return Settings(
        environment="test",
        database_url=f"sqlite:///{path}",
        data_dir=tmp_path / "data",
        secret_key="browser-test-secret-key-long",
    )


@pytest.fixture
def browser_engine(browser_settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(browser_settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(browser_engine: Engine) -> Engine:
    """Here the database is the served app's, so the one `world` cast (tests/conftest.py) is
    built where the live server reads it."""
    return browser_engine


@pytest.fixture
def world_with_audio(world: World, browser_engine: Engine, browser_settings: Settings) -> World:
    """The cast, with the short rendered exercises the patient app plays."""
    install_test_audio(browser_engine, browser_settings.media_dir)
    return world


@pytest.fixture
def live_server(browser_settings: Settings) -> Iterator[str]:
    """The app served on a free loopback port; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(browser_settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("TEND_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required here but {CHROMIUM} does not exist")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (no cookies, no service worker)."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    start_clock(context)
    yield context
    context.close()


def assert_accessible(page: Any) -> None:
    """axe-core finds no WCAG 2.x A/AA violations on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    options = {
        "runOnly": {
            "type": "tag",
            "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
        }
    }
    results = Axe().run(page, options=options)
    violations = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['target']})"
        for v in results.response["violations"]
    ]
    assert violations == [], "\n".join(violations)


def screenshot(page: Any, name: str) -> None:
    """Keep a phone-sized screenshot for people to look at (in SCREENSHOTS, above)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def viewport_shot(page: Any, name: str) -> None:
    """A viewport-sized (not full-page) screenshot, when TEND_SHOTS names a folder: what a
    phone shows at once, for a closing note."""
    folder = os.environ.get("TEND_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def wait_for_scripts(page: Any) -> None:
    """Wait until the page's scripts have run: they are fetched once it has painted, so a tap
    straight after a navigation could come first (static/js/after-paint.js marks <html>)."""
    page.wait_for_selector("html[data-scripts-ran]", state="attached")


def sign_in(page: Any, base_url: str, login: str, password: str) -> None:
    """Sign in through the real sign-in form."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email or participant code").fill(login)
    page.get_by_label("Password or passphrase").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
