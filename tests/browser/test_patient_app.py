"""The patient app on a phone: two taps to audio, logging with ratings, offline and back,
accessible pages, and installable."""

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from app.db import open_session
from app.practice.models import CheckIn, PracticeLog
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    assert_accessible,
    screenshot,
    sign_in,
    start_clock,
    wait_for_scripts,
)
from tests.factories import PASSWORD, World

PLAYING = """() => { const a = document.querySelector('[data-audio]');
  return a && !a.paused && a.currentTime > 0.3; }"""


def server_logs(engine: Engine) -> list[PracticeLog]:
    with open_session(engine) as session:
        return list(session.exec(select(PracticeLog)).all())


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def wait_for_worker(page: Any) -> None:
    """Wait until the service worker is activated and controls the page."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller?.state === 'activated'")


def rate(page: Any, prefix: str, values: dict[str, int]) -> None:
    for name, value in values.items():
        page.locator(
            f'label.rating-option:has(input[name="{prefix}_{name}"][value="{value}"])'
        ).click()


def test_two_taps_to_audio_then_a_practice_logged_with_ratings(
    live_server: str, phone: Any, world_with_audio: World, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    # Tap 1 opened the app on Today; tap 2 is today's practice's play button.
    assert page.url.endswith("/today")
    page.locator("[data-today-play]").click()
    assert page.locator("[data-today-play]").count() == 0  # left Today for the player
    page.wait_for_function(PLAYING, timeout=10000)
    assert page.evaluate("() => document.querySelector('[data-audio]').src").endswith(".webm")

    page.get_by_text("How are you before you start? (optional)").click()
    rate(page, "before", {"pain_intensity": 7, "pain_distress": 6, "mood": 4})
    page.wait_for_timeout(2500)
    page.get_by_role("button", name="Forward 15 seconds").click()
    page.locator("[data-after]").wait_for(state="visible", timeout=15000)
    rate(page, "after", {"pain_intensity": 5, "pain_distress": 3, "mood": 6})
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your practice is noted. Thank you.").wait_for()

    wait_until(lambda: len(server_logs(browser_engine)) == 1)
    log = server_logs(browser_engine)[0]
    assert log.kind == "exercise" and log.completed
    # Time actually played (about 2.5 s, then the last seconds after the skip), not position.
    assert 2 <= log.listened_seconds <= 9, log.listened_seconds
    with open_session(browser_engine) as session:
        moments = {
            c.moment.value: (c.pain_intensity, c.pain_distress, c.mood)
            for c in session.exec(select(CheckIn)).all()
        }
    assert moments == {"before": (7, 6, 4), "after": (5, 3, 6)}
    page.wait_for_function("() => document.getElementById('outbox-card').hidden")


@pytest.fixture
def persistent(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """Open a phone browser that keeps its storage (IndexedDB, caches, worker) in a folder."""
    opened: list[Any] = []

    def launch() -> Any:
        context = playwright_instance.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="en-GB",
            timezone_id="Europe/London",
        )
        start_clock(context)
        opened.append(context)
        return context

    yield launch
    for context in opened:
        with contextlib.suppress(Exception):
            context.close()


def outbox_count(page: Any) -> int:
    return int(
        page.evaluate("""() => new Promise((resolve) => {
      const r = indexedDB.open('tend', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('outbox', { keyPath: 'id' });
      r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox').count();
        q.onsuccess = () => resolve(q.result); };
    })""")
    )


def test_offline_practice_survives_reload_and_restart_and_is_stored_once(
    live_server: str, persistent: Any, world_with_audio: World, browser_engine: Engine
) -> None:
    context = persistent()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    wait_for_worker(page)
    page.get_by_role("button", name="Save this week for offline").click()
    page.get_by_text("This week's audio is saved on this phone.").wait_for()
    player_url = page.get_by_role("link", name="Body scan", exact=True).get_attribute("href")
    page.goto(f"{live_server}{player_url}")  # seen once online, so it is kept for offline
    page.goto(f"{live_server}/today")

    context.set_offline(True)
    page.reload()
    assert "Body scan" in page.inner_text("main")
    wait_for_scripts(page)
    page.get_by_role("button", name="I practised without the app").click()
    page.get_by_text("Noted ✓").wait_for()
    page.get_by_text("1 waiting to be sent.").wait_for()

    # The player, its audio and seeking all work from the phone's copy.
    page.goto(f"{live_server}{player_url}")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(PLAYING)
    page.evaluate("() => { document.querySelector('[data-audio]').currentTime = 6; }")
    page.wait_for_function("""() => { const a = document.querySelector('[data-audio]');
      return !a.seeking && !a.paused && a.currentTime > 6.3; }""")
    ranged = page.evaluate("""async () => {
      const url = document.querySelector('[data-audio]').src;
      const r = await fetch(url, { headers: { Range: 'bytes=100-199' } });
      return [r.status, r.headers.get('Content-Range'), (await r.arrayBuffer()).byteLength];
    }""")
    assert ranged[0] == 206 and ranged[1].startswith("bytes 100-199/") and ranged[2] == 100
    page.wait_for_timeout(5000)
    page.get_by_role("button", name="Finish").click()
    page.get_by_text("Your practice is noted. Thank you.").wait_for()
    assert outbox_count(page) == 2

    page.reload()
    page.get_by_text("Carrying on from 0:1").wait_for()  # resumes where it stopped
    page.goto(f"{live_server}/today")
    page.get_by_text("2 waiting to be sent.").wait_for()
    screenshot(page, "patient-offline")
    context.close()
    assert server_logs(browser_engine) == []

    context = persistent()
    context.set_offline(True)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live_server}/today")
    page.get_by_text("2 waiting to be sent.").wait_for()
    assert_accessible(page)
    context.set_offline(False)
    page.wait_for_function("() => document.getElementById('outbox-card').hidden", timeout=10000)
    logs = server_logs(browser_engine)
    assert sorted(log.kind.value for log in logs) == ["exercise", "own"]
    # Sending again (reload, reconnect) never makes a second copy.
    page.reload()
    page.wait_for_timeout(500)
    with open_session(browser_engine) as session:
        assert session.exec(select(func.count()).select_from(PracticeLog)).one() == 2


RECORD_POLICY_VIOLATIONS = """addEventListener('securitypolicyviolation', (event) => {
  (window.policyViolations ||= []).push(`${event.violatedDirective} ${event.blockedURI}`);
});"""
# When the page painted, and when each stylesheet and script it downloaded was asked for.
# Read through PerformanceObserver: the browser tests' clock (Playwright's, tests/browser/
# conftest.py start_clock) stubs performance.getEntries*, while observers see the real entries.
PAINT_AND_DOWNLOADS = """async () => {
  const entries = (type) => new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      observer.disconnect();
      resolve(list.getEntries());
    });
    observer.observe({ type, buffered: true });
  });
  const paints = await entries('paint');
  return {
    paint: paints.find((e) => e.name === 'first-contentful-paint').startTime,
    downloads: (await entries('resource'))
      .filter((e) => /\\.(css|js)$/.test(new URL(e.name).pathname))
      .map((e) => [new URL(e.name).pathname, e.startTime]),
    violations: window.policyViolations || [],
    background: getComputedStyle(document.body).backgroundColor,
  };
}"""
STYLED_BACKGROUND = "rgb(247, 245, 240)"  # --bg in static/css/app.css


def test_today_paints_styled_before_any_script_is_fetched_online_and_offline(
    live_server: str, persistent: Any, world_with_audio: None
) -> None:
    context = persistent()
    context.add_init_script(RECORD_POLICY_VIOLATIONS)
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    wait_for_scripts(page)
    seen = page.evaluate(PAINT_AND_DOWNLOADS)
    fetched = {path for path, _ in seen["downloads"]}
    assert {"/static/js/app.js", "/static/js/local-time.js", "/static/js/outbox.js"} <= fetched
    assert not any(path.endswith(".css") for path in fetched)  # the stylesheet came inside
    assert all(asked >= seen["paint"] for _, asked in seen["downloads"]), seen
    assert seen["violations"] == [] and seen["background"] == STYLED_BACKGROUND

    # The phone's kept copy with no signal: styled, and its scripts run from the worker's cache.
    wait_for_worker(page)
    context.set_offline(True)
    page.reload()
    wait_for_scripts(page)
    seen = page.evaluate(PAINT_AND_DOWNLOADS)
    assert seen["violations"] == [] and seen["background"] == STYLED_BACKGROUND
    page.get_by_role("button", name="I practised without the app").click()
    page.get_by_text("Noted ✓").wait_for()


def test_without_javascript_today_is_styled_and_offers_what_works_without_it(
    live_server: str, browser: Any, world_with_audio: None
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    assert page.url.endswith("/today")
    background = page.locator("body").evaluate("(body) => getComputedStyle(body).backgroundColor")
    assert background == STYLED_BACKGROUND
    # nojs.css hides what needs a script; the form that posts is there to note a practice.
    assert page.get_by_role("button", name="I practised without the app").is_hidden()
    assert page.get_by_role("button", name="Save this week for offline").is_hidden()
    page.get_by_text("Note a practice with details").click()
    assert page.get_by_label("What did you practise?").is_visible()
    context.close()


def test_the_app_is_installable(live_server: str, persistent: Any, world_with_audio: World) -> None:
    context = persistent()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    wait_for_worker(page)
    cdp = context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = page.request.get(f"{live_server}/manifest.webmanifest").json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/today"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])


def test_every_patient_page_is_accessible_and_photographed(
    live_server: str, phone: Any, world_with_audio: World, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    programme = page.request.get(f"{live_server}/api/v1/programme").json()
    week_1, week_2 = (w["exercises"][0]["id"] for w in programme["weeks"])
    # Two weeks of ratings around practices, so the progress page has something to show.
    page.evaluate(
        """async ([week1, week2]) => {
      const { logPractice, localNow } = await import('/static/js/outbox.js');
      const day = (d) => {
        const t = new Date(); t.setDate(t.getDate() - d); t.setHours(9); return t;
      };
      const plan = [[9, week1, 7, 4], [8, week1, 6, 5], [2, week2, 6, 5],
                    [1, week2, 5, 6], [0, week2, 5, 6]];
      for (const [ago, id, pain, mood] of plan) {
        await logPractice({ id: crypto.randomUUID(), exercise_id: id, ...localNow(day(ago)),
          listened_seconds: 600, completed: true,
          ratings_before: { pain_intensity: pain, pain_distress: pain, mood },
          ratings_after: { pain_intensity: pain - 2, pain_distress: pain - 3, mood: mood + 1 },
        }, 'test');
      }
    }""",
        [week_1, week_2],
    )
    wait_until(lambda: len(server_logs(browser_engine)) == 5)

    page.goto(f"{live_server}/today")
    page.get_by_text("Read this week's teaching").click()
    assert "3 of 5 days this week" in page.inner_text("main")
    assert_accessible(page)
    screenshot(page, "patient-today")
    page.get_by_role("button", name="Having a bad day?").click()
    page.get_by_text("Bad-day mode on").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Turn off").click()
    page.get_by_role("button", name="Having a bad day?").wait_for()

    page.get_by_role("link", name="Body scan", exact=True).click()
    page.get_by_role("button", name="Play").wait_for()
    page.get_by_text("How are you before you start? (optional)").click()
    assert_accessible(page)
    screenshot(page, "patient-player")
    page.get_by_role("link", name="Read the words").click()
    assert_accessible(page)

    page.goto(f"{live_server}/progress")
    text = page.inner_text("main")
    assert "Body scan (3 practices)" in text and "Pain -2.0" in text
    assert page.locator("svg.chart polyline").count() == 3
    assert_accessible(page)
    screenshot(page, "patient-progress")

    page.goto(f"{live_server}/reflections")
    page.get_by_label("What helped?").fill("Breathing out slowly when the pain rose.")
    page.get_by_role("button", name="Keep this").last.click()
    page.get_by_text("Kept. Only you can see it").last.wait_for()
    wait_until(lambda: bool(page.request.get(f"{live_server}/api/v1/reflections").json()))
    assert_accessible(page)
    screenshot(page, "patient-reflection")


def test_a_refused_entry_stays_and_is_shown_kindly(
    live_server: str, phone: Any, world_with_audio: World, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.evaluate(
        """async () => {
      const { logPractice, localNow } = await import('/static/js/outbox.js');
      await logPractice({ id: crypto.randomUUID(), kind: 'own', ...localNow(),
        listened_seconds: 600, completed: true, ratings_after: { mood: 11 } },
        'On my own, 10 min');
    }"""
    )
    page.get_by_text("This one could not be saved as it is:").wait_for()
    assert "On my own, 10 min" in page.inner_text("#outbox-card")
    page.reload()
    page.get_by_text("This one could not be saved as it is:").wait_for()
    assert server_logs(browser_engine) == []
    assert_accessible(page)
    page.get_by_role("button", name="Remove it").click()
    page.wait_for_function("() => document.getElementById('outbox-card').hidden")


def test_entries_wait_through_an_expired_session_until_sign_in(
    live_server: str, phone: Any, world_with_audio: World, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    phone.clear_cookies()  # the session has expired
    page.get_by_role("button", name="I practised without the app").click()
    page.get_by_text("Please sign in again to send them").wait_for()
    assert server_logs(browser_engine) == []
    page.goto(f"{live_server}/login")
    page.get_by_label("Email or participant code").fill("P-A1")
    page.get_by_label("Password or passphrase").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/today")
    # The card is hidden before the outbox has even been read, so wait for the server instead.
    deadline = time.monotonic() + 30
    while not server_logs(browser_engine) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.wait_for_function("() => document.getElementById('outbox-card').hidden")
    assert [log.kind.value for log in server_logs(browser_engine)] == ["own"]


@pytest.mark.parametrize("url", ["/today", "/progress", "/reflections"])
def test_pages_work_at_200_percent_text_and_in_dark_mode(
    live_server: str, phone: Any, world_with_audio: World, url: str
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}{url}")
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    # Nothing runs off the side of the phone: no sideways scrolling to read.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    assert_accessible(page)
