"""Signing in and out, invite codes, and sessions that end on the server."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import service as auth_service
from app.auth.models import AuthSession, Invite
from app.clinics.models import User
from app.config import Settings
from app.db import open_session, utcnow
from app.web.csrf import SESSION_COOKIE
from tests.factories import PASSWORD, World, login


def test_wrong_login_or_password_gets_the_same_401(client: TestClient, world: World) -> None:
    wrong_password = client.post(
        "/api/v1/auth/login", json={"login": "fa@one.example", "password": "nope-nope"}
    )
    unknown_login = client.post(
        "/api/v1/auth/login", json={"login": "nobody@one.example", "password": PASSWORD}
    )

    assert wrong_password.status_code == unknown_login.status_code == 401
    assert wrong_password.json() == unknown_login.json()


def test_sign_in_failures_are_audited_without_the_password(
    client: TestClient, world: World, engine: Engine
) -> None:
    client.post("/api/v1/auth/login", json={"login": "fa@one.example", "password": "guess-1234"})

    with open_session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).all()
    assert len(events) == 1
    assert "guess-1234" not in str(events[0].detail)


def test_login_sets_a_hardened_cookie_and_me_answers(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/auth/login", json={"login": "FA@one.example ", "password": PASSWORD}
    )

    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/auth/me").json()["role"] == "facilitator"


def test_logout_ends_the_session_on_the_server(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    token = client.cookies[SESSION_COOKIE]

    client.post("/api/v1/auth/logout")

    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_staff_sessions_end_after_inactivity(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    login(client, "clinician@one.example")
    idle = utcnow() - timedelta(minutes=settings.staff_idle_minutes + 1)
    with open_session(engine, write=True) as session:
        session.exec(update(AuthSession).values(last_seen_at=idle))
        session.commit()

    assert client.get("/api/v1/auth/me").status_code == 401


def test_patient_sessions_survive_long_pauses(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    with open_session(engine, write=True) as session:
        session.exec(update(AuthSession).values(last_seen_at=utcnow() - timedelta(days=20)))
        session.commit()

    assert client.get("/api/v1/auth/me").status_code == 200


def test_disabling_an_account_ends_its_sessions(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    with open_session(engine, write=True) as session:
        user = session.exec(select(User).where(User.login == "fa@one.example")).one()
        user.is_active = False
        session.add(user)
        session.commit()

    assert client.get("/api/v1/auth/me").status_code == 401


def _invite(engine: Engine, settings: Settings, world: World) -> str:
    with open_session(engine, write=True) as session:
        patient = session.exec(select(User).where(User.login == "P-A2")).one()
        facilitator = session.exec(select(User).where(User.login == "fa@one.example")).one()
        code = auth_service.issue_invite(
            session, patient=patient, issued_by=facilitator, settings=settings
        )
        session.commit()
    return code


def test_an_invite_code_sets_a_passphrase_once(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    code = _invite(engine, settings, world)

    first = client.post(
        "/api/v1/auth/invite", json={"code": code.lower(), "password": "purple rain falls"}
    )
    client.post("/api/v1/auth/logout")
    reused = client.post("/api/v1/auth/invite", json={"code": code, "password": "another one!"})

    assert first.status_code == 200 and first.json()["login"] == "P-A2"
    assert reused.status_code == 422
    assert "already been used" in reused.json()["detail"][0]["msg"]
    assert login(client, "P-A2", "purple rain falls")


def test_an_expired_invite_code_is_refused(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    code = _invite(engine, settings, world)
    with open_session(engine, write=True) as session:
        session.exec(update(Invite).values(expires_at=utcnow() - timedelta(minutes=1)))
        session.commit()

    response = client.post(
        "/api/v1/auth/invite", json={"code": code, "password": "purple rain falls"}
    )

    assert response.status_code == 422
    assert "expired" in response.json()["detail"][0]["msg"]


def test_a_new_invite_revokes_the_old_one(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    old = _invite(engine, settings, world)
    new = _invite(engine, settings, world)

    assert (
        client.post(
            "/api/v1/auth/invite", json={"code": old, "password": "long enough"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/auth/invite", json={"code": new, "password": "long enough"}
        ).status_code
        == 200
    )


def test_a_short_passphrase_is_refused_and_the_code_stays_usable(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    code = _invite(engine, settings, world)

    short = client.post("/api/v1/auth/invite", json={"code": code, "password": "short"})

    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "password"]
    assert (
        client.post(
            "/api/v1/auth/invite", json={"code": code, "password": "long enough"}
        ).status_code
        == 200
    )
