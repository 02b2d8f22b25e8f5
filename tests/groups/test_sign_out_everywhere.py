"""Staff can end a patient's sessions: withdrawal, a new invite code and "sign out everywhere"
each sign the patient's phones out at once, and each is audited."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from tests.factories import World, login
from tests.pages import submit, visible_text

PATIENT_URL = "/groups/GRP-A/patients/P-A1"


@pytest.fixture
def phone(app: FastAPI, world: World) -> Iterator[TestClient]:
    """P-A1's phone, signed in, beside the facilitator's browser (``client``)."""
    with TestClient(app) as patient:
        login(patient, "P-A1")
        assert patient.get("/api/v1/auth/me").status_code == 200
        yield patient


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with open_session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_withdrawing_a_patient_ends_their_sessions(
    client: TestClient, phone: TestClient, engine: Engine
) -> None:
    login(client, "fa@one.example")
    response = submit(client, PATIENT_URL, f"{PATIENT_URL}/withdraw", {"reason": "Moved away"})
    assert response.status_code == 303
    assert phone.get("/api/v1/auth/me").status_code == 401
    assert phone.get("/today", follow_redirects=False).status_code in (302, 303, 401)
    [event] = _events(engine, "enrolment_withdrawn")
    assert event.detail["sessions_ended"] == 1


def test_a_new_invite_code_signs_the_old_phone_out(
    client: TestClient, phone: TestClient, engine: Engine
) -> None:
    login(client, "fa@one.example")
    response = submit(
        client, "/groups/GRP-A/invites", "/groups/GRP-A/invites", {"participants": "P-A1"}
    )
    assert response.status_code == 200
    assert phone.get("/api/v1/auth/me").status_code == 401
    [event] = _events(engine, "invites_issued")
    assert event.detail["sessions_ended"] == 1


def test_staff_sign_a_patient_out_on_every_device(
    client: TestClient, phone: TestClient, app: FastAPI, engine: Engine
) -> None:
    with TestClient(app) as second_phone:
        login(second_phone, "P-A1")
        login(client, "fa@one.example")
        page = visible_text(client.get(PATIENT_URL).text)
        assert "Sign this patient out on every device" in page
        response = submit(client, PATIENT_URL, f"{PATIENT_URL}/sign-out-everywhere", {})
        assert response.status_code == 303
        assert "Signed out on every device" in visible_text(
            client.get(response.headers["location"]).text
        )
        assert phone.get("/api/v1/auth/me").status_code == 401
        assert second_phone.get("/api/v1/auth/me").status_code == 401
    [event] = _events(engine, "patient_signed_out_everywhere")
    assert event.detail["sessions_ended"] == 2
    # The patient signs in again with their passphrase and carries on.
    login(phone, "P-A1")
    assert phone.get("/api/v1/auth/me").status_code == 200


def test_another_groups_facilitator_cannot_sign_the_patient_out(
    client: TestClient, phone: TestClient
) -> None:
    login(client, "fb@one.example")
    token = client.headers["X-CSRF-Token"]
    response = client.post(f"{PATIENT_URL}/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 404
    assert phone.get("/api/v1/auth/me").status_code == 200
