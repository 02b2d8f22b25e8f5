"""The patient's reminders page and API: quiet by default, choose, pause in one tap, bad input
named; the Today partial; the facilitator board's "reminders on"; the CLI."""

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from app.config import Settings
from app.db import open_session, utcnow
from app.reminders import service as reminders_service
from app.web.templating import templates
from tests.factories import World, login
from tests.pages import submit, visible_text
from tests.reminders.push_endpoint import BrowserSubscription

# What the reminder pages say (today, tomorrow, the next one) depends on the time of day.
pytestmark = pytest.mark.clock


def _subscribe(client: TestClient, name: str = "phone") -> None:
    device = BrowserSubscription.new(f"https://push.example/{name}")
    response = client.post("/api/v1/reminders/subscriptions", json=device.to_json())
    assert response.status_code == 201, response.text


def test_the_page_is_quiet_by_default_and_saves_a_choice(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    page = client.get("/reminders")
    assert page.status_code == 200
    assert "Tend stays quiet until you choose some below" in visible_text(page.text)

    response = submit(
        client,
        "/reminders",
        "/reminders",
        {
            "practice": "yes",
            "time_of_day": "19:30",
            "days": ["0", "3"],
            "timezone": "America/New_York",
        },  # type: ignore[dict-item]
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    text = visible_text(page.text)
    assert "Saved. Your next reminder is always on the Today page." in text
    assert re.search(r"Your next practice reminder: (Monday|Thursday) 19:30", text)
    prefs = client.get("/api/v1/reminders/preferences").json()
    assert prefs["practice"] and not prefs["group_session"]
    assert (prefs["time_of_day"], prefs["days"], prefs["timezone"]) == (
        "19:30",
        [0, 3],
        "America/New_York",
    )


def test_bad_choices_are_named_and_change_nothing(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    response = submit(
        client,
        "/reminders",
        "/reminders",
        {"practice": "yes", "time_of_day": "8 in the morning", "timezone": "Europe/London"},
    )
    assert response.status_code == 422
    assert "Enter a time such as 08:00." in visible_text(response.text)
    assert 'value="8 in the morning"' in response.text  # what they typed is kept

    response = submit(
        client,
        "/reminders",
        "/reminders",
        {"practice": "yes", "time_of_day": "08:00", "timezone": "Europe/London"},
    )
    assert response.status_code == 422
    assert "Choose at least one day" in visible_text(response.text)

    api = client.put(
        "/api/v1/reminders/preferences",
        json={"practice": True, "time_of_day": "08:00", "timezone": "Mars/Olympus_Mons"},
    )
    assert api.status_code == 422
    assert "timezone" in api.text
    api = client.put("/api/v1/reminders/preferences", json={"practice": True, "timezone": "UTC"})
    assert api.status_code == 422 and "time_of_day" in api.text
    assert client.get("/api/v1/reminders/preferences").json()["chosen"] is False


def test_one_tap_pauses_everything_and_one_resumes(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    client.put(
        "/api/v1/reminders/preferences",
        json={"practice": True, "time_of_day": "08:00", "timezone": "Europe/London"},
    )
    assert "Pause all reminders" in visible_text(client.get("/reminders").text)
    paused = submit(client, "/reminders", "/reminders/pause", {})
    assert paused.status_code == 303
    text = visible_text(client.get(paused.headers["location"]).text)
    assert "All reminders are paused." in text and "Resume reminders" in text
    assert client.get("/api/v1/reminders/preferences").json()["paused"] is True
    assert submit(client, "/reminders", "/reminders/resume", {}).status_code == 303
    assert client.get("/api/v1/reminders/preferences").json()["paused"] is False


def test_a_form_without_its_token_is_refused(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    response = client.post("/reminders/pause", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert client.get("/api/v1/reminders/preferences").json()["paused"] is False


def test_staff_have_no_reminders_page(client: TestClient, world: World) -> None:
    login(client, "fa@one.example")
    assert client.get("/reminders").status_code == 403
    assert client.get("/api/v1/reminders/preferences").status_code == 403


def test_subscriptions_are_stored_once_per_device_and_can_be_removed(
    client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    device = BrowserSubscription.new("https://push.example/send/abc")
    assert client.post("/api/v1/reminders/subscriptions", json=device.to_json()).status_code == 201
    assert client.post("/api/v1/reminders/subscriptions", json=device.to_json()).status_code == 200
    assert client.get("/api/v1/reminders/preferences").json()["devices"] == 1
    removed = client.request(
        "DELETE", "/api/v1/reminders/subscriptions", json={"endpoint": device.endpoint}
    )
    assert removed.status_code == 204
    assert client.get("/api/v1/reminders/preferences").json()["devices"] == 0
    bad = client.post(
        "/api/v1/reminders/subscriptions",
        json={**device.to_json(), "endpoint": "ftp://push.example/x"},
    )
    assert bad.status_code == 422 and "endpoint" in bad.text


def test_the_vapid_key_is_made_once_and_kept(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    first = client.get("/api/v1/reminders/vapid-public-key").json()["public_key"]
    second = client.get("/api/v1/reminders/vapid-public-key").json()["public_key"]
    assert first == second and len(first) == 87  # 65-byte uncompressed point, base64url


def _render_next(engine: Engine, login_name: str, now: datetime) -> str:
    from sqlmodel import select

    from app.clinics.models import User

    with open_session(engine) as session:
        user = session.exec(select(User).where(User.login == login_name)).one()
        upcoming = reminders_service.next_reminder(session, user=user, now=now)
    return templates.get_template("reminders/_next.html").render(next_reminder=upcoming)


def test_the_today_partial_shows_the_next_practice_reminder(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "P-A1")
    now = utcnow()
    assert "Choose reminders" in _render_next(engine, "P-A1", now)
    client.put(
        "/api/v1/reminders/preferences",
        json={"practice": True, "time_of_day": "08:00", "timezone": "Asia/Tokyo"},
    )
    html = _render_next(engine, "P-A1", now)
    assert re.search(r"Your next practice reminder: \w+day 08:00", html)
    # No device can receive it: the page says this is where the reminder shows.
    assert "Notifications are not on for any of your phones" in html
    _subscribe(client)
    assert "Notifications are not on" not in _render_next(engine, "P-A1", now)
    client.post("/api/v1/reminders/pause")
    assert "Your reminders are paused." in _render_next(engine, "P-A1", now)


def test_the_board_knows_who_has_reminders_on(
    client: TestClient, engine: Engine, world: World
) -> None:
    choice = {"practice": True, "time_of_day": "08:00", "timezone": "Europe/London"}
    login(client, "P-A1")
    client.put("/api/v1/reminders/preferences", json=choice)
    _subscribe(client, "a1")
    client.post("/api/v1/auth/logout")
    login(client, "P-A2")
    client.put("/api/v1/reminders/preferences", json=choice)  # chosen, but no device
    client.post("/api/v1/auth/logout")
    login(client, "P-B1")
    client.put("/api/v1/reminders/preferences", json=choice)
    _subscribe(client, "b1")
    client.post("/api/v1/reminders/pause")
    ids = [e.id or 0 for e in world.enrolments.values()]
    with open_session(engine) as session:
        on = reminders_service.reminders_on(session, enrolment_ids=ids)
    assert on == {world.enrolments["A1"].id}


def test_cli_runs_one_pass(settings, monkeypatch, world: World) -> None:  # type: ignore[no-untyped-def]
    from app import cli
    from app.config import get_settings

    monkeypatch.setenv("TEND_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("TEND_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.cli, ["reminders", "run", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Planned 0, sent 0" in result.output


def test_next_reminder_moves_with_the_clock_change(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "P-A1")
    client.put(
        "/api/v1/reminders/preferences",
        json={"practice": True, "time_of_day": "08:00", "timezone": "Europe/London"},
    )
    saturday = datetime.fromisoformat("2027-03-27T09:00:00+00:00")
    html = _render_next(engine, "P-A1", saturday)
    assert "Sunday 08:00" in html
    html = _render_next(engine, "P-A1", saturday + timedelta(days=1))
    assert "Monday 08:00" in html


def test_only_known_push_services_are_accepted(engine: Engine, world: World) -> None:
    import pytest

    from app.errors import InvalidInput

    keys = BrowserSubscription.new("x").to_json()["keys"]
    with open_session(engine, write=True) as session:
        patient = world.users["patient_a1"]
        for endpoint in ("https://intranet.clinic.example/admin", "http://fcm.googleapis.com/x"):
            with pytest.raises(InvalidInput) as refused:
                reminders_service.subscribe(
                    session,
                    user=patient,
                    endpoint=endpoint,
                    p256dh=keys["p256dh"],
                    auth=keys["auth"],  # type: ignore[index]
                )
            assert refused.value.field == "endpoint"
        subscription, created = reminders_service.subscribe(
            session,
            user=patient,
            endpoint="https://fcm.googleapis.com/fcm/send/abc:def",
            p256dh=keys["p256dh"],
            auth=keys["auth"],  # type: ignore[index]
        )
        assert created and subscription.id is not None


def test_the_vapid_key_can_come_from_a_file_instead_of_the_database(
    settings: Settings, engine: Engine, tmp_path: Path, world: World
) -> None:
    from sqlmodel import func, select

    from app.main import create_app
    from app.reminders import push
    from app.reminders.models import VapidKey

    pem, public = push.generate_vapid_key()
    key_file = tmp_path / "vapid.pem"
    key_file.write_text(pem)
    app = create_app(settings.model_copy(update={"vapid_private_key_file": key_file}))
    with TestClient(app) as client:
        login(client, "P-A1")
        answer = client.get("/api/v1/reminders/vapid-public-key").json()["public_key"]
    assert answer == public
    with open_session(engine) as session:  # no signing key was written to the database
        assert session.exec(select(func.count()).select_from(VapidKey)).one() == 0
