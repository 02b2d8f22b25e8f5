"""Staff accounts in a browser: a one-time link whose code rides in the fragment, the admin's
staff page, one's own passphrase and a forgotten one; accessible on a phone."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.clinics import staff as staff_service
from app.clinics.models import Clinic, Role
from app.config import Settings
from app.db import open_session
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, World

SHOTS = Path("/work/wt/_shots/clinic-ops")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_staff_link_fills_the_code_from_the_fragment_and_drops_it(
    live_server: str, phone: Any, browser_engine: Engine, browser_settings: Settings, world: World
) -> None:
    with open_session(browser_engine, write=True) as session:
        clinic = session.get(Clinic, 1)
        assert clinic is not None
        link = staff_service.invite_staff(
            session,
            clinic=clinic,
            email="nia@one.example",
            role=Role.facilitator,
            display_name="Nia",
            actor=None,
            settings=browser_settings,
            site_url=live_server,
        )
        session.commit()
    code = link.url.split("#code=", 1)[1]
    page = phone.new_page()
    page.goto(link.url)
    # The link holds the code, so the page goes on by itself: staff read no information
    # sheet, so the next step is the passphrase.
    page.get_by_label("Choose a passphrase").wait_for()
    page.wait_for_load_state("networkidle")

    assert page.get_by_label("Your code").input_value() == code
    assert "#" not in page.url and code not in page.url  # gone from the address bar
    assert_accessible(page)
    shot(page, "join-from-link")
    page.get_by_label("Choose a passphrase").fill("nia's own long words")
    page.get_by_role("button", name="Start").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/groups")


def test_admin_staff_account_and_forgot_pages(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    page.goto(f"{live_server}/forgot")
    assert_accessible(page)
    shot(page, "forgot")

    sign_in(page, live_server, "admin@one.example", PASSWORD)
    page.goto(f"{live_server}/admin/staff")
    assert_accessible(page)
    page.get_by_label("Email (their login)").fill("new@one.example")
    page.get_by_label("Name, as colleagues see it").fill("Nia New")
    page.get_by_label("Facilitator: runs groups").check()
    page.get_by_role("button", name="Create the link").click()
    page.wait_for_load_state("networkidle")
    assert "/join#code=" in page.locator(".issued-link code").inner_text()
    assert_accessible(page)
    shot(page, "admin-staff")

    page.goto(f"{live_server}/account")
    page.get_by_label("Current passphrase").fill("wrong words here")
    page.get_by_label("New passphrase").fill("a brand new phrase")
    page.get_by_role("button", name="Change passphrase").click()
    page.wait_for_load_state("networkidle")
    assert "not your current passphrase" in page.content()
    assert_accessible(page)
    shot(page, "account")
