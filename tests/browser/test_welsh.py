"""The patient app in Welsh on a phone: chosen on the Language page, then every patient page
in Welsh with <html lang="cy">, axe clean, and no sideways scroll with Welsh's longer words."""

from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from app.db import open_session
from app.practice.models import CheckIn
from tests.browser.conftest import assert_accessible, screenshot, sign_in, wait_for_scripts
from tests.browser.test_patient_app import rate, server_logs, wait_until
from tests.browser.test_today import assert_no_sideways_scroll
from tests.factories import PASSWORD, World


def in_welsh(page: Any, heading: str | None = None) -> None:
    """The page is marked Welsh, shows ``heading``, is accessible and fits a small phone."""
    assert page.get_attribute("html", "lang") == "cy"
    if heading:
        page.get_by_role("heading", name=heading).first.wait_for()
    assert_accessible(page)
    assert_no_sideways_scroll(page, page.viewport_size["width"])


def test_the_patient_pages_in_welsh(
    live_server: str, phone: Any, world_with_audio: World, browser_engine: Engine
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.get_by_role("link", name="More").first.click()
    page.get_by_role("link", name="Language").click()
    page.get_by_label("Cymraeg").check()
    page.get_by_role("button", name="Save language").click()
    page.get_by_text("Mae Tend bellach yn siarad yr iaith a ddewisoch chi.").wait_for()
    in_welsh(page, "Iaith")

    page.goto(f"{live_server}/today")
    in_welsh(page, "Ymarferion yr wythnos hon")
    wait_for_scripts(page)
    screenshot(page, "welsh-today")

    # A practice, logged with ratings before and after, in Welsh.
    page.locator("[data-today-play]").click()
    page.get_by_role("button", name="Seibio").wait_for()
    wait_for_scripts(page)
    page.get_by_text("Sut ydych chi cyn dechrau? (dewisol)").click()
    rate(page, "before", {"pain_intensity": 7, "pain_distress": 6, "mood": 4})
    in_welsh(page)  # its heading is the practice's title: programme content
    screenshot(page, "welsh-player")
    page.get_by_role("button", name="Ymlaen 15 eiliad").click()
    page.locator("[data-after]").wait_for(state="visible", timeout=15000)
    rate(page, "after", {"pain_intensity": 5, "pain_distress": 3, "mood": 6})
    page.get_by_role("button", name="Cadw", exact=True).click()
    page.get_by_text("Mae eich ymarfer wedi'i nodi. Diolch.").wait_for()
    wait_until(lambda: len(server_logs(browser_engine)) == 1)
    with open_session(browser_engine) as session:
        assert len(session.exec(select(CheckIn)).all()) == 2

    for url, heading in (
        ("/progress", "Fy nghynnydd"),
        ("/reflections", "Myfyrdodau"),
        ("/questionnaires", "Holiaduron"),
        ("/more", "Rhagor"),
        ("/my-data", "Fy nata"),
        ("/help", "Angen help nawr?"),
    ):
        page.goto(f"{live_server}{url}")
        in_welsh(page, heading)
    screenshot(page, "welsh-help")
