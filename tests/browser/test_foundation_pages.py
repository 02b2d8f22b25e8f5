"""The first pages, as a person on a phone sees them: signed in, accessible, logging works."""

from typing import Any

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, World


def test_sign_in_page_is_accessible(live_server: str, phone: Any) -> None:
    page = phone.new_page()
    page.goto(f"{live_server}/login")
    assert_accessible(page)
    screenshot(page, "sign-in")


def test_a_patient_logs_a_practice_from_today(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    assert page.url.endswith("/today")
    assert_accessible(page)

    page.get_by_text("Note a practice with details").click()
    page.get_by_label("What did you practise?").select_option(label="Body scan")
    page.get_by_label("Minutes").fill("10")
    page.get_by_role("button", name="Save").click()

    # The page notes it at once (through the outbox); the server has it once it is sent.
    page.get_by_text("Noted. Thank you for taking the time to practise.").wait_for()
    page.wait_for_function("() => document.getElementById('outbox-card').hidden")
    page.reload()
    assert "Body scan, 10 min" in page.inner_text("main")


def test_facilitator_group_page_is_accessible(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "fa@one.example", PASSWORD)
    page.goto(f"{live_server}/groups/GRP-A")
    assert "P-A1" in page.inner_text("main")
    assert_accessible(page)
