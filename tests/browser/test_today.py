"""Today at phone size, measured: what the first screen holds and how many taps things take,
one log per double tap with Undo, bad-day mode, no sideways scrolling at 320 px or 200% text,
and progress charts drawn as lines. Viewport-sized screenshots go to TEND_SHOTS if it is set."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.browser.conftest import PHONE, assert_accessible, sign_in, viewport_shot
from tests.browser.test_patient_app import PLAYING, server_logs, wait_until
from tests.clock import TestClock
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("world_with_audio")
PATIENT_PAGES = ["/today", "/progress", "/reflections", "/more", "/reminders", "/questionnaires"]
# Where the day matters to what Today and Progress show: a plain day, half an hour before the
# year ends, and the second 01:30 of the night the clocks go back (phone and server both there).
DAY_SENSITIVE = pytest.mark.clock("weekday_noon", "new_years_eve_2330", "autumn_0130_gmt")


def in_first_viewport(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    scrolled = page.evaluate("() => window.scrollY")
    return box is not None and scrolled == 0 and box["y"] >= 0 and box["y"] + box["height"] <= 844


@DAY_SENSITIVE
def test_the_first_screen_starts_a_practice_in_one_tap_and_logs_one_in_one_tap(
    live_server: str, phone: Any, browser_engine: Engine, clock: TestClock
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    assert page.url.endswith("/today") and page.viewport_size == PHONE
    play = page.locator("[data-today-play]")
    without_app = page.get_by_role("button", name="I practised without the app")
    # Both inside the first 390x844 screen, with the header and the tab bar.
    assert in_first_viewport(page, play) and in_first_viewport(page, without_app)
    assert in_first_viewport(page, page.get_by_role("button", name="Having a bad day?"))
    assert in_first_viewport(page, page.get_by_role("link", name="Need help now?"))
    assert page.get_by_role("link", name="Today").get_attribute("aria-current") == "page"
    assert_accessible(page)
    viewport_shot(page, "today")

    taps = 0
    without_app.click()
    taps += 1
    page.get_by_text("Noted ✓").wait_for()
    wait_until(lambda: len(server_logs(browser_engine)) == 1)
    [log] = server_logs(browser_engine)
    assert taps == 1 and log.listened_seconds == 600  # 10 min chosen
    # The phone dated it today, as the clinic's clock does, and not in the future.
    assert (log.local_date, log.clock_suspect) == (clock.today(), False)
    assert abs(log.started_at - clock.now()) < timedelta(minutes=1)
    page.reload()  # the server counts it in today's week too
    assert page.locator("[data-target-count]").inner_text().startswith("1 of 5")

    taps = 0
    play.click()
    taps += 1
    page.wait_for_function(PLAYING, timeout=10000)
    assert taps == 1


def test_a_double_tap_notes_one_practice_the_circles_move_at_once_and_undo_takes_it_back(
    live_server: str, phone: Any, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    count = page.locator("[data-target-count]")
    assert count.inner_text().startswith("0 of 5")
    page.get_by_role("button", name="I practised without the app").dblclick()
    page.get_by_text("Noted ✓").wait_for()
    # Without a reload: today now counts, and the first circle is filled.
    assert count.inner_text().startswith("1 of 5")
    assert page.locator(".days .day.done").count() == 1
    wait_until(lambda: len(server_logs(browser_engine)) == 1)
    page.wait_for_timeout(1500)  # a second log would have been sent by now
    assert len(server_logs(browser_engine)) == 1

    page.get_by_role("button", name="Undo").click()
    page.get_by_text("Undone").wait_for()
    assert count.inner_text().startswith("0 of 5")
    wait_until(lambda: server_logs(browser_engine) == [])
    page.wait_for_function("() => document.getElementById('outbox-card').hidden")


def test_bad_day_mode_leads_with_the_flare_practice_until_turned_off(
    live_server: str, phone: Any
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.get_by_role("button", name="Having a bad day?").click()
    page.wait_for_url("**/today")
    card = page.locator(".today-card")
    assert "Bad-day mode on" in card.inner_text() and "Short breath" in card.inner_text()
    assert "kind to yourself" in card.inner_text()
    assert page.locator("[data-this-week]").count() == 0  # the week's target steps back
    assert in_first_viewport(page, page.get_by_role("button", name="I practised without the app"))
    assert page.locator("#quick-minutes").input_value() == "3"  # the bad-day practice's length
    assert_accessible(page)
    viewport_shot(page, "today-bad-day")
    page.reload()
    assert "Bad-day mode on" in page.locator(".today-card").inner_text()
    page.get_by_role("button", name="Turn off").click()
    page.wait_for_url("**/today")
    assert "Bad-day mode on" not in page.inner_text("main")
    assert page.locator("[data-this-week]").count() == 1


@pytest.mark.clock("new_years_eve_2330")
def test_bad_day_mode_turned_on_late_on_new_years_eve_ends_at_midnight(
    live_server: str, phone: Any, clock: TestClock
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.get_by_role("button", name="Having a bad day?").click()
    page.wait_for_url("**/today")
    assert "Bad-day mode on" in page.locator(".today-card").inner_text()
    # Forty minutes later, on the phone and at the clinic: 00:10 on New Year's Day.
    clock.advance(timedelta(minutes=40))
    phone.clock.fast_forward("40:00")
    assert page.evaluate("() => new Date().getFullYear()") == clock.today().year == 2027
    page.reload()
    assert "Bad-day mode on" not in page.inner_text("main")
    assert page.locator("[data-this-week]").count() == 1


WIDER_THAN_SCREEN = """(width) => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > width + 1)
  .map((e) => `${e.tagName}.${e.className}`).slice(0, 5)"""


def assert_no_sideways_scroll(page: Any, width: int) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= width, page.evaluate(WIDER_THAN_SCREEN, width)


@pytest.mark.parametrize("url", PATIENT_PAGES)
def test_no_sideways_scroll_at_320_px_or_at_200_percent_text(
    live_server: str, phone: Any, url: str
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server}{url}")
    assert_no_sideways_scroll(page, 320)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}{url}")
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    assert_no_sideways_scroll(page, PHONE["width"])


@DAY_SENSITIVE
def test_progress_leads_with_a_sentence_and_draws_lines_not_wedges(
    live_server: str, phone: Any, browser_engine: Engine, clock: TestClock
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    # Each at this time of day, `ago` days back on the phone's calendar: a fixed 09:00 would
    # be today's future at 01:30, which the server rightly marks as a suspect clock.
    page.evaluate(
        """async () => {
      const { logPractice, localNow } = await import('/static/js/outbox.js');
      for (const [ago, pain] of [[9, 7], [8, 6], [1, 5], [0, 4]]) {
        const t = new Date(); t.setDate(t.getDate() - ago);
        await logPractice({ id: crypto.randomUUID(), kind: 'own', ...localNow(t),
          listened_seconds: 240, completed: true,
          ratings_before: { pain_intensity: pain, pain_distress: pain, mood: 5 } }, 'test');
      }
    }"""
    )
    wait_until(lambda: len(server_logs(browser_engine)) == 4)
    logs = server_logs(browser_engine)
    today = clock.today()
    assert sorted((log.local_date, log.clock_suspect) for log in logs) == [
        (today - timedelta(days=ago), False) for ago in (9, 8, 1, 0)
    ]
    page.goto(f"{live_server}/progress")
    lead = page.locator("[data-lead]").inner_text()
    assert lead.startswith("This week you practised on 2 days, 8 minutes."), lead
    assert "2 shorter days" in page.inner_text("main")  # 4 minutes: partly filled, not zero
    fills = page.evaluate(
        "() => [...document.querySelectorAll('svg.chart polyline')]"
        ".map((p) => getComputedStyle(p).fill)"
    )
    assert fills and set(fills) == {"none"}, fills
    smallest = page.evaluate(
        """() => { const svg = document.querySelector('svg.chart');
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      return Math.min(...[...svg.querySelectorAll('text')]
        .map((t) => parseFloat(getComputedStyle(t).fontSize) * scale)); }"""
    )
    assert smallest >= 14, smallest
    assert "Pain:" in page.locator("[data-chart-summary]").inner_text()
    assert_accessible(page)
    viewport_shot(page, "progress")


def test_signing_out_with_entries_waiting_asks_first(
    live_server: str, phone: Any, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}/more")
    phone.set_offline(True)
    page.evaluate(
        """async () => {
      const { logPractice, localNow } = await import('/static/js/outbox.js');
      await logPractice({ id: crypto.randomUUID(), kind: 'own', ...localNow(),
        listened_seconds: 600, completed: true }, 'test');
    }"""
    )
    page.get_by_role("button", name="Sign out").click()
    unsent = page.locator("#signout-unsent")
    unsent.wait_for(state="visible")
    assert "1 waiting to be sent." in unsent.inner_text()
    assert page.url.endswith("/more")  # still signed in
    assert server_logs(browser_engine) == []
    assert_accessible(page)
    phone.set_offline(False)
    page.get_by_role("button", name="Wait and send it").click()
    page.wait_for_url("**/login**")
    assert len(server_logs(browser_engine)) == 1  # sent before signing out, and only once


def test_the_players_check_in_comes_from_today_and_ends_on_a_confirmation(
    live_server: str, phone: Any, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.get_by_text("How are you now? (optional, before you start)").click()
    for name, value in (("pain_intensity", 6), ("mood", 4)):
        page.locator(f'label.rating-option:has(input[name="now_{name}"][value="{value}"])').click()
    # One row of eleven at 390 px: 0 and 10 on the same line.
    tops = page.evaluate(
        """() => [...document.querySelectorAll('[data-today-checkin] .rating-scale')][0]
      .querySelectorAll('.rating-option').length"""
    )
    assert tops == 11
    row = page.evaluate(
        """() => { const o = document.querySelectorAll(
        '[data-today-checkin] .rating-scale:first-of-type .rating-option');
      return [o[0].getBoundingClientRect().top, o[10].getBoundingClientRect().top]; }"""
    )
    assert row[0] == row[1]
    viewport_shot(page, "today-check-in")
    page.locator("[data-today-play]").click()
    page.wait_for_function(PLAYING, timeout=10000)
    page.wait_for_timeout(5500)  # long enough to be noted as a practice
    page.get_by_role("button", name="Finish").click()
    page.locator("[data-done]").wait_for(state="visible")
    assert page.get_by_role("link", name="Back to Today", exact=True).is_visible()
    wait_until(lambda: len(server_logs(browser_engine)) == 1)
    from sqlmodel import select

    from app.db import open_session
    from app.practice.models import CheckIn

    with open_session(browser_engine) as session:
        before = session.exec(select(CheckIn)).one()
    assert (before.moment.value, before.pain_intensity, before.mood) == ("before", 6, 4)
    viewport_shot(page, "player-done")
