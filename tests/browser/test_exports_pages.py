"""The export page and the audit viewer in a phone browser: accessible, and they work."""

from typing import Any

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, World


def test_export_page_is_accessible_and_downloads_a_bundle(
    live_server: str, phone: Any, world: World
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "clinician@one.example", PASSWORD)
    page.goto(f"{live_server}/exports")
    assert_accessible(page)
    page.get_by_label("GRP-A: Group A").check()
    # The key the page offers: a study key is at least 20 characters.
    page.get_by_label("Study key (optional)").fill(page.locator("code.study-key").inner_text())
    screenshot(page, "exports")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download export").click()
    assert download.value.suggested_filename.endswith(".zip")
    # A mistake is shown next to its field, accessibly.
    page.goto(f"{live_server}/exports")
    page.get_by_label("Shift each group's dates").check()
    page.get_by_role("button", name="Download export").click()
    page.get_by_text("Date shifting needs a study key.").wait_for()
    assert_accessible(page)


def test_audit_viewer_is_accessible(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "admin@one.example", PASSWORD)
    page.goto(f"{live_server}/admin/audit")
    assert "sign_in" in page.inner_text("main")
    assert_accessible(page)
    page.get_by_label("Action").select_option("sign_in")
    page.get_by_role("button", name="Show events").click()
    page.wait_for_url("**/admin/audit?**")
    assert_accessible(page)
    screenshot(page, "audit")
