"""Reminders in a real browser: the page is accessible, a push message delivered to the service
worker over the DevTools protocol shows the notification, and tapping it opens the right page.

No push service is involved: CDP `ServiceWorker.deliverPushMessage` hands the message straight
to the worker. CDP cannot click a notification, so the tap is a `notificationclick` event
dispatched inside the worker with the very notification it showed (see the test for what that
does and does not cover).
"""

import json
import time
from typing import Any

from tests.browser.conftest import (
    assert_accessible,
    screenshot,
    sign_in,
    start_clock,
    viewport_shot,
)
from tests.factories import PASSWORD, World

PAYLOAD = {
    "title": "Tend",
    "body": "Time for a few quiet minutes with Tend.",
    "url": "/today",
    "tag": "practice",
}


def _poll(page: Any, script: str, timeout: float = 30) -> Any:
    """Evaluate an async function in the page until it returns something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.1)
    return None


def _registration_id(cdp: Any, scope: str) -> str:
    found: dict[str, str] = {}

    def on_update(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == scope and not registration.get("isDeleted"):
                found["id"] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", on_update)
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while "id" not in found and time.monotonic() < deadline:
        cdp.send("Runtime.evaluate", {"expression": "1"})  # let events arrive
        time.sleep(0.05)
    assert "id" in found, "the service worker registration did not show up over CDP"
    return found["id"]


def test_reminders_page_is_accessible(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}/reminders")
    page.get_by_text("Notifications are off on this phone").wait_for()
    assert_accessible(page)

    page.get_by_label("to practise").check()
    page.get_by_label("Exact time", exact=True).fill("08:00")
    assert page.get_by_label("An exact time").is_checked()
    # Save asks for permission in the same tap; headless Chromium refuses, so the saved
    # notice says no ping will come, instead of "your reminders are set".
    page.get_by_role("button", name="Save reminders").click()
    page.locator("[data-saved-notice]").get_by_text("You won't get a ping on this phone").wait_for()
    assert "Your next practice reminder:" in page.inner_text("main")
    prefs = page.request.get(f"{live_server}/api/v1/reminders/preferences").json()
    assert (prefs["time_of_day"], prefs["timezone"]) == ("08:00", "Europe/London")  # the phone's
    assert page.locator("[data-zone-note]").count() == 0  # the clinic's zone: not mentioned
    assert_accessible(page)
    screenshot(page, "reminders")


def test_a_push_message_shows_a_notification_and_tapping_it_opens_today(
    live_server: str, phone: Any, world: World
) -> None:
    phone.grant_permissions(["notifications"], origin=live_server)
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}/reminders")
    # The page registers /sw.js; wait until it controls the page (clients.claim on activate).
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)

    cdp = phone.new_cdp_session(page)
    registration_id = _registration_id(cdp, f"{live_server}/")
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": registration_id, "data": json.dumps(PAYLOAD)},
    )
    shown = _poll(
        page,
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            const found = await registration.getNotifications();
            return found.length ? found.map((n) => ({title: n.title, body: n.body, tag: n.tag,
                                                     url: n.data && n.data.url})) : null;
        }""",
    )
    assert shown == [
        {"title": "Tend", "body": PAYLOAD["body"], "tag": "practice", "url": f"{live_server}/today"}
    ]

    # The tap: dispatch notificationclick in the worker with the notification it showed. The
    # handler closes it and sends the open Tend window to the payload's page. What this does
    # not cover: a tap with no Tend window open (clients.openWindow needs a real user gesture,
    # which a synthetic event cannot give) and the phone's own notification UI.
    [worker] = [w for w in phone.service_workers if w.url.endswith("/sw.js")]
    worker.evaluate(
        """async () => {
            const [notification] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
        }"""
    )
    page.wait_for_url(f"{live_server}/today", timeout=10000)
    remaining = page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready).getNotifications()).length"
    )
    assert remaining == 0


def test_a_payload_cannot_send_the_patient_to_another_site(
    live_server: str, phone: Any, world: World
) -> None:
    phone.grant_permissions(["notifications"], origin=live_server)
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}/reminders")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    cdp = phone.new_cdp_session(page)
    registration_id = _registration_id(cdp, f"{live_server}/")
    hostile = {**PAYLOAD, "url": "https://elsewhere.example/phish"}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": registration_id, "data": json.dumps(hostile)},
    )
    url = _poll(
        page,
        """async () => {
            const found = await (await navigator.serviceWorker.ready).getNotifications();
            return found.length ? found[0].data.url : null;
        }""",
    )
    assert url == f"{live_server}/today"


def test_an_iphone_browser_tab_is_told_to_add_tend_to_the_home_screen(
    live_server: str, browser: Any, world: World
) -> None:
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    context = start_clock(
        browser.new_context(
            viewport={"width": 390, "height": 844},
            user_agent=iphone,
            is_mobile=True,
            has_touch=True,
        )
    )
    # Safari in a tab (not on the Home Screen) has no PushManager.
    context.add_init_script("delete window.PushManager;")
    try:
        page = context.new_page()
        sign_in(page, live_server, "P-A1", PASSWORD)
        page.goto(f"{live_server}/reminders")
        page.get_by_text("notifications work once Tend is on your Home Screen").wait_for()
        assert not page.get_by_role("button", name="Turn on notifications").is_visible()
    finally:
        context.close()


def test_refused_permission_is_said_plainly(live_server: str, phone: Any, world: World) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    page.goto(f"{live_server}/reminders")
    page.get_by_role("button", name="Turn on notifications").click()
    # Headless Chromium refuses (or dismisses) the permission prompt: the page says what to do.
    page.get_by_text("Notifications are blocked for Tend in this browser").wait_for()
    assert "You won't get a ping on this phone" in page.inner_text("#push-device")
    viewport_shot(page, "reminders-refused")
