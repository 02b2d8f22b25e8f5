"""A lost or handed-back phone forgets its patient: after sign-out nothing of them opens offline,
unsent practice is never lost on the way, and a second patient never sees the first's pages."""

import contextlib
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.test_patient_app import (
    outbox_count,
    server_logs,
    wait_for_worker,
)
from tests.factories import PASSWORD

SHOTS = "/work/wt/_shots/governance"
REFLECTION = "Walked to the allotment with Dora today without the stick"
WRITE_REFLECTION = """async (text) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const r = await fetch('/api/v1/reflections/' + crypto.randomUUID(), { method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
    body: JSON.stringify({ kind: 'weekly', week_number: 1, text }) });
  return r.status;
}"""
PAGE_CACHES = "async () => (await caches.keys()).filter((k) => k.startsWith('tend-pages'))"


def _offline_text(page: Any, url: str) -> str:
    with contextlib.suppress(Exception):  # no worker left: the browser's own offline error
        page.goto(url, wait_until="commit")
    for _ in range(20):
        page.wait_for_timeout(250)
        with contextlib.suppress(Exception):  # still navigating
            return str(page.evaluate("() => location.href + ' ' + document.body.innerText"))
    raise AssertionError(f"{url} never settled")


@pytest.mark.usefixtures("world_with_audio")
def test_after_sign_out_offline_pages_show_nothing_of_the_patient(
    live_server: str, phone: Any
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    wait_for_worker(page)
    assert page.evaluate(WRITE_REFLECTION, REFLECTION) in (200, 201)
    page.goto(f"{live_server}/reflections")
    page.get_by_text(REFLECTION).first.wait_for()
    for path in ("/progress", "/today"):
        page.goto(f"{live_server}{path}")
    today = page.inner_text("main")
    assert "I practised without the app" in today
    # Nothing with the patient's own words or history is kept, even while signed in.
    kept = page.evaluate(
        """async () => { const out = [];
        for (const name of await caches.keys())
          for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
        return out; }"""
    )
    assert "/today" in kept and "/reflections" not in kept and "/progress" not in kept

    page.goto(f"{live_server}/more")  # Sign out lives under More
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    phone.set_offline(True)
    for path in ("/today", "/reflections", "/progress"):
        shown = _offline_text(page, f"{live_server}{path}")
        assert REFLECTION not in shown
        assert "I practised without the app" not in shown and "Sign out" not in shown
    page.screenshot(path=f"{SHOTS}/offline-after-sign-out.png")


def _sign_out_with_one_practice_unsent(phone: Any, live_server: str) -> Any:
    """P-A1 logs a practice with no signal for sending it (the sign-out itself still reaches
    the server), then taps Sign out under More; returns the page."""
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    wait_for_worker(page)
    page.route("**/api/v1/practice-logs", lambda route: route.abort())
    page.get_by_role("button", name="I practised without the app").click()
    page.get_by_text("1 waiting to be sent.").first.wait_for()
    page.goto(f"{live_server}/more")
    page.get_by_role("button", name="Sign out").click()
    return page


@pytest.mark.usefixtures("world_with_audio")
def test_signing_out_with_unsent_practice_asks_first_and_keeps_it(
    live_server: str, phone: Any, browser_engine: Engine
) -> None:
    page = _sign_out_with_one_practice_unsent(phone, live_server)
    page.get_by_role("heading", name="Some of your practice has not been sent yet").wait_for()
    assert page.url.endswith("/more")  # still signed in: nothing cleared yet
    assert_accessible(page)
    page.screenshot(path=f"{SHOTS}/sign-out-with-unsent.png", full_page=True)

    page.get_by_role("button", name="Sign out, keep it on this phone").click()
    page.wait_for_url("**/login")
    assert outbox_count(page) == 1 and server_logs(browser_engine) == []
    assert page.evaluate(PAGE_CACHES) == []

    page.unroute("**/api/v1/practice-logs")
    page.get_by_label("Email or participant code").fill("P-A1")
    page.get_by_label("Password or passphrase").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/today")
    deadline = time.monotonic() + 30
    while not server_logs(browser_engine) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert [log.kind.value for log in server_logs(browser_engine)] == ["own"]


@pytest.mark.usefixtures("world_with_audio")
def test_waiting_sends_the_practice_then_signs_out(
    live_server: str, phone: Any, browser_engine: Engine
) -> None:
    page = _sign_out_with_one_practice_unsent(phone, live_server)
    page.unroute("**/api/v1/practice-logs")  # signal is back
    page.get_by_role("button", name="Wait and send it").click()
    page.wait_for_url("**/login")
    assert [log.kind.value for log in server_logs(browser_engine)] == ["own"]


@pytest.mark.usefixtures("world_with_audio")
def test_a_second_patient_on_the_phone_never_gets_the_first_ones_pages(
    live_server: str, phone: Any
) -> None:
    page = phone.new_page()
    sign_in(page, live_server, "P-A1", PASSWORD)
    wait_for_worker(page)
    page.goto(f"{live_server}/today")
    first = page.evaluate(PAGE_CACHES)
    assert len(first) == 1
    phone.clear_cookies()  # the first session ends without a sign-out (expired, revoked)
    sign_in(page, live_server, "P-A2", PASSWORD)
    page.goto(f"{live_server}/today")
    second = page.evaluate(PAGE_CACHES)
    assert len(second) == 1 and second != first
