"""Facilitator pages at phone size: the board, the register, session prep and patients' words
are accessible, and the register saves from a phone."""

from typing import Any

import pytest
from sqlalchemy import Engine

from app import clock as app_clock
from app.db import open_session
from app.demo import seed_demo
from app.programme import service as programme_service
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD
from tests.groups.conftest import DEFAULT_PROGRAMME


@pytest.fixture
def demo(browser_engine: Engine) -> None:
    with open_session(browser_engine, write=True) as session:
        programme_service.load_programme_file(session, DEFAULT_PROGRAMME)
        seed_demo(session, today=app_clock.today("Europe/London"), seed=1, password=PASSWORD)
        session.commit()


def test_engagement_board_is_accessible(live_server: str, phone: Any, demo: None) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "facilitator@demo.example", PASSWORD)
    page.goto(f"{live_server}/groups/DEMO-A")
    assert "This week, day by day" in page.inner_text("main")
    assert "A practice day is a day with at least" in page.inner_text("main")
    assert_accessible(page)
    screenshot(page, "board")


def test_register_saves_from_a_phone(live_server: str, phone: Any, demo: None) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "facilitator@demo.example", PASSWORD)
    page.goto(f"{live_server}/groups/DEMO-A/sessions/7/register")
    assert_accessible(page)
    rows = page.locator("fieldset.register-row")
    assert rows.count() >= 10
    rows.nth(0).get_by_label("Present").check()
    rows.nth(1).get_by_label("Apologies").check()
    page.get_by_role("button", name="Save register").click()
    page.get_by_text("Register saved.").wait_for()
    assert rows.nth(0).get_by_label("Present").is_checked()
    assert rows.nth(1).get_by_label("Apologies").is_checked()
    assert_accessible(page)
    screenshot(page, "register")


def test_session_prep_is_accessible(live_server: str, phone: Any, demo: None) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "facilitator@demo.example", PASSWORD)
    page.goto(f"{live_server}/groups/DEMO-A/prep")
    main = page.inner_text("main")
    assert "Practices people found most helpful" in main and "Maya" in main
    assert_accessible(page)
    screenshot(page, "session-prep")


def test_coding_page_is_accessible(live_server: str, phone: Any, demo: None) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "facilitator2@demo.example", PASSWORD)
    page.goto(f"{live_server}/groups/DEMO-B/words")
    assert "Feeling different" in page.inner_text("main")
    assert_accessible(page)
    page.goto(f"{live_server}/codebook")
    assert_accessible(page)


def test_manage_patient_and_invite_pages_are_accessible(
    live_server: str, phone: Any, demo: None
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "facilitator@demo.example", PASSWORD)
    for path in ("/groups/DEMO-A/manage", "/groups/DEMO-A/patients/P-A03", "/groups/new"):
        page.goto(f"{live_server}{path}")
        assert_accessible(page)
    page.goto(f"{live_server}/groups/DEMO-A/invites")
    page.get_by_role("button", name="Make the invite sheet").click()
    page.get_by_text("They are shown only now").wait_for()
    assert page.locator(".invite-card svg").count() == 12
    assert_accessible(page)
    screenshot(page, "invite-sheet")
