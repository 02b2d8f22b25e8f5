"""In a real phone-sized browser: join with an invite, read the clinic's information sheet,
consent, and later download "my data"; both screens pass axe-core."""

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.auth import service as auth_service
from app.config import Settings
from app.consent import service as consent_service
from app.db import open_session
from tests.browser.conftest import assert_accessible
from tests.factories import World

PASSPHRASE = "a calm blue river"
SHEET = (
    "## What Tend is\n\nTend carries your group's practices home.\n\n"
    "## What is recorded\n\n- when you practise and for how long\n- your 0-10 ratings\n\n"
    "## Stopping\n\nYou can stop at any time from **My data**."
)


def _shot(page: Any, name: str) -> None:
    # Screenshots for people to look at go where TEND_SHOTS_DIR says (outside the repo).
    folder = os.environ.get("TEND_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _sheet_and_invite(engine: Engine, settings: Settings, world: World) -> str:
    with open_session(engine, write=True) as session:
        consent_service.publish(
            session,
            actor=world.users["admin"],
            information_sheet=SHEET,
            required_statements="I agree to use Tend as part of the group.",
            evaluation_statement="My answers may be used, without my name, to evaluate the "
            "service.",
        )
        code = auth_service.issue_invite(
            session,
            patient=world.users["patient_a1"],
            issued_by=world.users["facilitator_a"],
            settings=settings,
        )
        session.commit()
    return code


def test_join_read_the_sheet_consent_and_later_download_my_data(
    live_server: str, phone: Any, browser_engine: Engine, browser_settings: Settings, world: World
) -> None:
    code = _sheet_and_invite(browser_engine, browser_settings, world)
    page = phone.new_page()

    page.goto(f"{live_server}/join")
    page.get_by_label("Your code").fill(code)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="About Tend and your information").wait_for()
    assert page.get_by_role("heading", name="What is recorded").is_visible()
    assert_accessible(page)
    _shot(page, "join-consent")

    # Without the required statement: refused, the message beside it.
    page.get_by_label("Choose a passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("alert").first.wait_for()
    assert "you need to agree to this" in page.locator("#statement-required_1-error").inner_text()

    page.get_by_label("I agree to use Tend as part of the group.").check()
    page.get_by_label("My answers may be used").check()
    page.get_by_label("Choose a passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(f"{live_server}/today")

    # My data is under More in the tab bar.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="More").click()
    page.wait_for_url(f"{live_server}/more")
    page.get_by_role("link", name="My data").click()
    page.wait_for_url(f"{live_server}/my-data")
    assert page.get_by_text("Version 1 of the information sheet").is_visible()
    assert_accessible(page)
    _shot(page, "my-data")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert data["account"]["login"] == "P-A1"
    assert [c["version"] for c in data["consents"]] == [1]
    assert [s["agreed"] for s in data["consents"][0]["statements"]] == [True, True]
