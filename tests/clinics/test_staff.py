"""Staff accounts without the demo: the command line, the admin's staff page, one's own
passphrase, and links that work once."""

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app import clock
from app.audit.models import AuditEvent
from app.cli import cli
from app.clinics.models import User
from app.config import Settings, get_settings
from app.db import open_session
from app.main import create_app
from app.web.csrf import SESSION_COOKIE
from tests.factories import PASSWORD, PASSWORD_HASH, World, login
from tests.mail_server import SmtpTestServer
from tests.pages import submit, visible_text

LINK = re.compile(r"(https?://\S+/join#code=([0-9A-Z-]+))")


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TEND_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("TEND_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TEND_PUBLIC_URL", "https://tend.example.nhs.uk")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def tend(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def link_code(output: str) -> str:
    found = LINK.search(output)
    assert found, output
    return found.group(2)


def redeem(client: TestClient, code: str, password: str = "a quiet green field"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/invite", json={"code": code, "password": password})


def actions(engine: Engine) -> list[str]:
    with open_session(engine) as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def test_clinic_create_prints_its_code_and_refuses_a_bad_time_zone(runner: CliRunner) -> None:
    assert tend(runner, "clinic", "create", "--name", "Leeds Pain Service").strip() == (
        "leeds-pain-service"
    )
    second = tend(runner, "clinic", "create", "--name", "Leeds Pain Service", "--timezone", "UTC")
    assert second.strip() == "leeds-pain-service-2"

    refused = tend(runner, "clinic", "create", "--name", "X", "--timezone", "Europe/Leeds", code=2)
    assert "'Europe/Leeds' is not a time zone" in refused


def test_a_staff_invite_is_a_one_time_link_redeemed_like_a_patients(
    runner: CliRunner, client: TestClient, engine: Engine
) -> None:
    clinic = tend(runner, "clinic", "create", "--name", "Leeds").strip()
    output = tend(
        runner, "staff", "invite", "Ann@Leeds.example", "--role", "admin", "--clinic", clinic
    )
    assert "https://tend.example.nhs.uk/join#code=" in output
    assert "valid 72 hours" in output
    code = link_code(output)

    signed_in = redeem(client, code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["role"] == "admin" and signed_in.json()["login"] == "ann@leeds.example"
    assert client.get("/admin/staff").status_code == 200

    client.cookies.clear()
    used = redeem(client, code)
    assert used.status_code == 422
    assert "already been used. Ask your clinic's admin for a new link." in used.text
    assert {"staff_invited", "invite_redeemed"} <= set(actions(engine))


def test_inviting_an_existing_email_refuses_and_suggests_reset(runner: CliRunner) -> None:
    clinic = tend(runner, "clinic", "create", "--name", "Leeds").strip()
    tend(runner, "staff", "invite", "ann@leeds.example", "--role", "clinician", "--clinic", clinic)

    again = tend(
        runner,
        "staff",
        "invite",
        "ANN@leeds.example",
        "--role",
        "admin",
        "--clinic",
        clinic,
        code=2,
    )
    assert "already has an account here" in again and "tend staff reset" in again
    unknown = tend(
        runner, "staff", "invite", "b@x.example", "--role", "admin", "--clinic", "no", code=2
    )
    assert "No clinic with the code 'no'" in unknown


def test_an_expired_link_says_so_and_reset_sends_a_new_one(
    runner: CliRunner, client: TestClient
) -> None:
    clinic = tend(runner, "clinic", "create", "--name", "Leeds").strip()
    old = link_code(
        tend(
            runner,
            "staff",
            "invite",
            "f@leeds.example",
            "--role",
            "facilitator",
            "--clinic",
            clinic,
        )
    )
    with clock.fixed_at(clock.now() + timedelta(hours=73)):
        expired = redeem(client, old)
        assert expired.status_code == 422
        assert "expired. Ask your clinic's admin for a new link." in expired.text
        assert "link_expired" in tend(runner, "staff", "list")

        new = link_code(tend(runner, "staff", "reset", "F@leeds.example"))
        assert redeem(client, old).status_code == 422
        assert redeem(client, new).status_code == 200
    listed = tend(runner, "staff", "list", "--clinic", clinic)
    assert re.search(r"f@leeds\.example.*facilitator.*leeds.*active", listed)


def test_deactivating_ends_sessions_and_sign_in_says_nothing_of_the_account(
    runner: CliRunner, client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    assert client.get("/api/v1/auth/me").status_code == 200

    assert "signed out everywhere" in tend(runner, "staff", "deactivate", "fa@one.example")

    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.clear()
    deactivated = client.post(
        "/api/v1/auth/login", json={"login": "fa@one.example", "password": PASSWORD}
    )
    unknown = client.post(
        "/api/v1/auth/login", json={"login": "nobody@one.example", "password": PASSWORD}
    )
    assert deactivated.status_code == unknown.status_code == 401
    assert deactivated.json() == unknown.json()
    assert "deactivated" in tend(runner, "staff", "list", "--clinic", "one")
    refused = tend(runner, "staff", "reset", "fa@one.example", code=2)
    assert "is deactivated" in refused
    assert "staff_deactivated" in actions(engine)


def test_the_admin_staff_page_invites_resets_and_deactivates_in_its_own_clinic(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "admin@one.example")
    page = submit(
        client,
        "/admin/staff",
        "/admin/staff",
        {"email": "new@one.example", "name": "Nia New", "role": "facilitator"},
    )
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "One-time link for new@one.example" in text
    assert "Email is not set up" in text
    code = link_code(text)

    duplicate = submit(
        client, "/admin/staff", "/admin/staff", {"email": "fa@one.example", "role": "admin"}
    )
    assert duplicate.status_code == 422 and "already has an account here" in duplicate.text
    no_role = submit(client, "/admin/staff", "/admin/staff", {"email": "x@one.example"})
    assert no_role.status_code == 422 and "Choose a role." in no_role.text

    # Another clinic's account is not found; the facilitator's session ends on deactivation.
    with open_session(engine) as session:
        from app.clinics.models import User

        ids = {u.login: u.id for u in session.exec(select(User)).all()}
    other = submit(
        client, "/admin/staff", f"/admin/staff/{ids['clinician@two.example']}/deactivate", {}
    )
    assert other.status_code == 404
    facilitator = TestClient(client.app)
    login(facilitator, "fb@one.example")
    gone = submit(client, "/admin/staff", f"/admin/staff/{ids['fb@one.example']}/deactivate", {})
    assert "fb@one.example is deactivated" in visible_text(gone.text)
    assert facilitator.get("/api/v1/auth/me").status_code == 401

    newcomer = TestClient(client.app)
    assert redeem(newcomer, code).json()["role"] == "facilitator"
    assert newcomer.get("/admin/staff").status_code == 403
    assert {"staff_invited", "staff_deactivated"} <= set(actions(engine))


def test_staff_change_their_passphrase_with_the_current_one_and_other_sessions_end(
    client: TestClient, world: World, engine: Engine
) -> None:
    other_device = TestClient(client.app)
    login(other_device, "clinician@one.example")
    login(client, "clinician@one.example")

    wrong = submit(
        client,
        "/account",
        "/account",
        {"current_password": "not it at all", "new_password": "a brand new phrase"},
    )
    assert wrong.status_code == 422 and "not your current passphrase" in wrong.text
    short = submit(
        client, "/account", "/account", {"current_password": PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 422 and "at least 8 characters" in short.text

    changed = submit(
        client,
        "/account",
        "/account",
        {"current_password": PASSWORD, "new_password": "a brand new phrase"},
    )
    assert changed.status_code == 303
    assert "passphrase is changed" in visible_text(client.get(changed.headers["location"]).text)
    assert client.get("/api/v1/auth/me").status_code == 200  # this browser stays signed in
    assert other_device.get("/api/v1/auth/me").status_code == 401
    fresh = TestClient(client.app)
    login(fresh, "clinician@one.example", "a brand new phrase")
    assert "passphrase_changed" in actions(engine)
    # The test accounts' hashes are cheap (tests/factories.py); the one the app made is not.
    with open_session(engine) as session:
        stored = session.exec(select(User).where(User.login == "clinician@one.example")).one()
    assert not PasswordHasher().check_needs_rehash(stored.password_hash or "")
    assert PasswordHasher().check_needs_rehash(PASSWORD_HASH)


def test_forgot_passphrase_without_email_says_to_ask_the_admin(client: TestClient) -> None:
    page = visible_text(client.get("/forgot").text)
    assert "Ask your clinic's admin for a new link" in page
    assert "Forgot your passphrase?" in visible_text(client.get("/login").text)


def test_staff_join_link_in_the_fragment_and_old_query_links_still_fill_the_form(
    client: TestClient,
) -> None:
    page = client.get("/join?code=ABCD-EFGH-JKMN")
    assert 'value="ABCD-EFGH-JKMN"' in page.text
    assert "js/join.js" in client.get("/join").text
    assert SESSION_COOKIE not in client.cookies


@pytest.fixture
def mailing(settings: Settings, smtp_server: SmtpTestServer) -> Settings:
    return settings.model_copy(
        update={"smtp_url": smtp_server.url, "smtp_ca_file": smtp_server.ca_file}
    )


def test_with_smtp_the_invite_is_emailed_and_forgot_sends_a_new_link(
    mailing: Settings, world: World, smtp_server: SmtpTestServer
) -> None:
    with TestClient(create_app(mailing)) as client:
        login(client, "admin@one.example")
        page = submit(
            client,
            "/admin/staff",
            "/admin/staff",
            {"email": "new@one.example", "role": "clinician"},
        )
        assert "It was also emailed to them." in visible_text(page.text)
        [invite] = smtp_server.wait_for(1)
        assert invite.recipients == ["new@one.example"]
        assert link_code(invite.body) == link_code(visible_text(page.text))

        anonymous = TestClient(client.app)
        form = visible_text(anonymous.get("/forgot").text)
        assert "type your email and we will send you a link" in form
        known = submit(anonymous, "/forgot", "/forgot", {"email": "FA@one.example"})
        unknown = submit(anonymous, "/forgot", "/forgot", {"email": "nobody@one.example"})
        assert known.status_code == unknown.status_code == 200
        assert "a link is on its way" in visible_text(known.text)
        assert visible_text(known.text).replace("FA@one.example", "X") == visible_text(
            unknown.text
        ).replace("nobody@one.example", "X")
        messages = smtp_server.wait_for(2)
        assert [m.recipients for m in messages] == [["new@one.example"], ["fa@one.example"]]
        assert (
            redeem(anonymous, link_code(messages[1].body), "fran's new passphrase").json()["login"]
            == "fa@one.example"
        )


def test_when_the_mail_server_refuses_the_link_is_still_shown_and_says_so(
    settings: Settings, world: World, smtp_server: SmtpTestServer
) -> None:
    refusing = settings.model_copy(
        update={
            "smtp_url": smtp_server.url.replace("s3cret", "wrong"),
            "smtp_ca_file": smtp_server.ca_file,
        }
    )
    with TestClient(create_app(refusing)) as client:
        login(client, "admin@one.example")
        page = submit(
            client, "/admin/staff", "/admin/staff", {"email": "new@one.example", "role": "admin"}
        )
        text = visible_text(page.text)
        assert page.status_code == 200
        assert "It could not be emailed (SMTP failed: SMTPAuthenticationError 535)" in text
        assert redeem(TestClient(client.app), link_code(text)).json()["role"] == "admin"
