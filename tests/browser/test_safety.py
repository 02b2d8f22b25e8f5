"""The item 9 pathway on a phone with no signal: help opens offline, a PHQ-9 answered offline
with item 9 = 2 shows the support text at once, is kept in the outbox and, back online,
raises the flag staff see with the answer in words and the acknowledgement form."""

import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from app.db import open_session
from app.outcomes.models import Administration, SafetyFlag
from tests.browser.conftest import assert_accessible, sign_in, start_clock
from tests.factories import PASSWORD, World

PHQ9 = "/questionnaires/phq9/baseline"
# Phone-sized views for people to look at, outside the repository (TEND_SHOTS_DIR to change).
SHOTS = Path(os.environ.get("TEND_SHOTS_DIR", "/work/wt/_shots/safety"))

# The groups start in three days: the baseline questionnaires are open.
pytestmark = pytest.mark.world(started_days_ago=-3)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))  # the viewport, as the phone shows it


def _wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def _kept_for_offline(page: Any, path: str) -> bool:
    return bool(
        page.evaluate(
            """async (path) => {
                // Kept pages are filed per person: tend-pages-<person>.
                const names = (await caches.keys()).filter((n) => n.startsWith('tend-pages-'));
                for (const name of names) {
                    if (await (await caches.open(name)).match(path)) return true;
                }
                return false;
            }""",
            path,
        )
    )


def _signed_in_and_kept(page: Any, live_server: str) -> None:
    """Sign in as a patient; the worker keeps help and the questionnaires for no signal."""
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller?.state === 'activated'")
    _wait_for(lambda: _kept_for_offline(page, "/help") and _kept_for_offline(page, PHQ9))


def test_help_opens_offline(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    _signed_in_and_kept(page, live_server)
    phone.set_offline(True)
    page.get_by_role("link", name="Need help now?").click()
    page.get_by_role("heading", name="Need help now?").wait_for()
    text = page.inner_text("main")
    assert "116 123" in text and "call 999" in text
    assert "If a practice stirs up more than you can manage" in text
    assert_accessible(page)
    _shot(page, "help-offline")


def test_phq9_offline_with_item_9_shows_support_at_once_then_raises_the_flag(
    live_server: str, phone: Any, browser: Any, browser_engine: Engine, world: World
) -> None:
    page = phone.new_page()
    _signed_in_and_kept(page, live_server)

    phone.set_offline(True)
    page.goto(f"{live_server}{PHQ9}")
    questions = page.locator("fieldset.question")
    for index in range(8):
        questions.nth(index).get_by_label("Several days").check()
    support = page.locator("#support-now")
    assert support.is_hidden()
    questions.nth(8).get_by_label("More than half the days").check()
    support.wait_for(state="visible", timeout=1000)  # at once, from the phone's copy
    assert "116 123" in support.inner_text()
    assert "When you send this questionnaire, your care team is told" in support.inner_text()
    assert "within 1 working day" in support.inner_text()
    assert_accessible(page)
    _shot(page, "crisis-answer-offline")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Your answers are saved on this phone").wait_for()
    with open_session(browser_engine) as session:
        assert session.exec(select(SafetyFlag)).all() == []  # nothing has left the phone

    phone.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")

    def flag_arrived() -> bool:
        with open_session(browser_engine) as session:
            return session.exec(select(SafetyFlag)).first() is not None

    _wait_for(flag_arrived)
    with open_session(browser_engine) as session:
        flag = session.exec(select(SafetyFlag)).one()
        [sent] = session.exec(select(Administration)).all()
        assert (flag.answer, flag.administration_id, sent.score_total) == (2, sent.id, 10)

    staff = start_clock(
        browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    )
    try:
        desk = staff.new_page()
        sign_in(desk, live_server, "fa@one.example", PASSWORD)
        desk.goto(f"{live_server}/outcomes/safety-flags/{flag.id}")
        assert "Latest answer: More than half the days" in desk.inner_text("main")
        assert_accessible(desk)
        _shot(desk, "flag-answer-in-words")
        desk.get_by_role("heading", name="Acknowledge: what was done?").scroll_into_view_if_needed()
        _shot(desk, "flag-acknowledgement-form")
    finally:
        staff.close()


def test_a_risk_answer_chosen_before_the_page_script_arrives_still_shows_support(
    live_server: str, browser: Any, world: World
) -> None:
    # The page's scripts are fetched once it has painted; on a slow connection a patient can
    # answer before questionnaire.js is there. Its request is held here until after the answer.
    # No service worker: its fetches would pass the test's hold on the request by.
    context = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
    held: list[Any] = []
    context.route("**/static/js/questionnaire.js*", lambda route: held.append(route))
    page = context.new_page()
    try:
        sign_in(page, live_server, "P-A1", PASSWORD)
        page.goto(f"{live_server}{PHQ9}", wait_until="domcontentloaded")
        _wait_for(lambda: bool(held) or page.wait_for_timeout(50))
        page.locator("fieldset.question").nth(8).get_by_label("More than half the days").check()
        support = page.locator("#support-now")
        assert support.is_hidden()
        held[0].continue_()
        support.wait_for(state="visible", timeout=2000)
        assert "116 123" in support.inner_text()
    finally:
        context.close()
