"""Outcome pages in a real browser: a questionnaire on a phone, the clinician's summary and a
patient's printable summary, each accessible (axe) and kept as a screenshot."""

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from app import clock as app_clock
from app import demo
from app.config import Settings
from app.db import open_session
from app.outcomes import pages as outcomes_pages
from app.outcomes.models import Administration, AdministrationStatus, SafetyFlag
from app.programme import service as programme_service
from tests.browser.conftest import assert_accessible, screenshot, sign_in, start_clock
from tests.factories import PASSWORD, World

DEMO_PASSWORD = "demo-password-for-tests"


def _seed_demo(engine: Engine, settings: Settings) -> None:
    with open_session(engine, write=True) as session:
        path = programme_service.default_programme_path(settings.programmes_dir)
        programme_service.load_programme_file(session, path)
        demo.seed_demo(
            session, today=app_clock.today("Europe/London"), seed=7, password=DEMO_PASSWORD
        )
        session.commit()


@pytest.mark.world(started_days_ago=-3)
def test_patient_fills_in_phq9_on_a_phone(
    live_server: str, phone: Any, browser_engine: Engine, world: World
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}/questionnaires")
    assert_accessible(page)
    page.get_by_role("link", name="PHQ-9").click()
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    screenshot(page, "questionnaire")
    # Tap the first answer of every question but the last, then send: refused, nothing lost.
    questions = page.locator("fieldset.question")
    for index in range(questions.count() - 1):
        questions.nth(index).get_by_label("Several days").check()
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Please answer every question before sending").wait_for()
    assert_accessible(page)
    page.locator("fieldset.question").nth(8).get_by_label("Not at all").check()
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Your PHQ-9 has been sent").wait_for()

    # What was stored: eight "Several days" (1 each) and "Not at all" (0) for item 9.
    with open_session(browser_engine) as session:
        [sent] = session.exec(
            select(Administration).where(
                Administration.instrument_id == "phq9",
                Administration.status == AdministrationStatus.submitted,
            )
        ).all()
        flags = session.exec(select(SafetyFlag)).all()
    assert sent.score_total == 8
    assert sent.is_case is False
    assert len(sent.answers) == 9 and sorted(sent.answers.values()).count(1) == 8
    assert flags == []  # item 9 answered "Not at all": nothing for staff to follow up


def test_clinician_outcomes_page_and_patient_summary(
    live_server: str,
    phone: Any,
    browser: Any,
    browser_engine: Engine,
    browser_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed_demo(browser_engine, browser_settings)
    desktop = start_clock(
        browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    )
    try:
        page = desktop.new_page()
        sign_in(page, live_server, "clinician@demo.example", DEMO_PASSWORD)
        page.goto(f"{live_server}/outcomes")
        assert page.locator("svg.chart").count() > 1
        assert "Safety: please follow up" in page.inner_text("main")
        assert_accessible(page)
        screenshot(page, "outcomes-clinician")
        # With the published study's column, and the joint NHS Talking Therapies table.
        page.goto(f"{live_server}/outcomes?reference=true")
        assert "ES as published" in page.inner_text("main")
        assert page.locator("table.talking-therapies tbody tr").count() >= 1
        assert_accessible(page)
        # The demo's 22 patients on three pages, so that the table's page links are checked.
        monkeypatch.setattr(outcomes_pages, "PRACTICE_ROWS_PER_PAGE", 10)
        page.reload()
        page.get_by_role("link", name="Next").click()
        page.get_by_text("Page 2 / 3").wait_for()
        assert_accessible(page)
    finally:
        desktop.close()

    page = phone.new_page()
    sign_in(page, live_server, "clinician@demo.example", DEMO_PASSWORD)
    page.goto(f"{live_server}/outcomes/patients/P-B03")
    assert "P-B03" in page.inner_text("main")
    assert page.locator("svg.chart").count() >= 1
    assert_accessible(page)
    screenshot(page, "outcomes-patient-summary")
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
