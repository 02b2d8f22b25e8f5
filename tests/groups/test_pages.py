"""Staff see only what their role and clinic allow."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from tests.factories import World, login
from tests.pages import visible_text


def test_a_facilitator_sees_only_their_own_groups(client: TestClient, world: World) -> None:
    login(client, "fa@one.example")

    listing = visible_text(client.get("/groups").text)
    other = client.get("/groups/GRP-B")

    assert "GRP-A" in listing and "GRP-B" not in listing
    assert other.status_code == 404
    assert "P-B1" not in other.text


def test_a_clinician_sees_the_clinics_groups_but_no_other_clinics(
    client: TestClient, world: World
) -> None:
    login(client, "clinician@one.example")
    listing = visible_text(client.get("/groups").text)
    assert "GRP-A" in listing and "GRP-B" in listing
    client.post("/api/v1/auth/logout")

    login(client, "clinician@two.example")
    assert "GRP-A" not in visible_text(client.get("/groups").text)
    assert client.get("/groups/GRP-A").status_code == 404


def test_patients_cannot_open_staff_pages(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    assert client.get("/groups").status_code == 403
    assert client.get("/groups/GRP-A").status_code == 403
    assert client.get("/exports").status_code == 403


def test_facilitators_cannot_export(client: TestClient, world: World) -> None:
    login(client, "fa@one.example")
    assert client.get("/exports").status_code == 403


def test_viewing_a_groups_practice_is_audited(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    client.get("/groups/GRP-A")

    with open_session(engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "view_group_practice")
        ).one()
    assert event.object_id == "GRP-A" and event.actor_role == "facilitator"


def test_signed_out_people_are_sent_to_sign_in(client: TestClient, world: World) -> None:
    response = client.get("/groups/GRP-A", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/groups/GRP-A"
