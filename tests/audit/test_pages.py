"""The audit viewer: admins only, filtered by person, patient, action and date, exportable."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app import clock as app_clock
from app.audit import service as audit_service
from app.audit.models import AuditEvent
from app.clinics.models import User
from app.db import open_session
from tests.factories import World, login
from tests.pages import submit, visible_text

OLD = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def trail(world: World, engine: Engine) -> None:
    """A trail: the clinician viewed P-A1 and exported; someone in clinic two did too."""
    with open_session(engine, write=True) as session:
        users = {u.login: u for u in session.exec(select(User)).all()}
        clinician, facilitator = users["clinician@one.example"], users["fa@one.example"]
        audit_service.record(
            session,
            action="patient_viewed",
            actor=clinician,
            object_type="participant",
            object_id="P-A1",
        )
        audit_service.record(
            session,
            action="patient_viewed",
            actor=facilitator,
            object_type="participant",
            object_id="P-A2",
        )
        audit_service.record(session, action="export", actor=clinician, groups=["GRP-A"])
        old = audit_service.record(session, action="export", actor=facilitator, note="P-A1 old")
        old.at = OLD
        audit_service.record(
            session,
            action="patient_viewed",
            actor=users["clinician@two.example"],
            object_type="participant",
            object_id="P-A1",
        )
        for _ in range(60):
            audit_service.record(session, action="sign_in", actor=users["P-B1"])
        session.commit()


def rows(html: str) -> int:
    return html.count("<tr>") - 1  # minus the header row


def test_only_admins_read_the_trail(world: World, client: TestClient) -> None:
    for who in ("clinician@one.example", "fa@one.example", "P-A1"):
        login(client, who)
        assert client.get("/admin/audit").status_code == 403
    login(client, "admin@one.example")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    # 64 recorded in clinic one, the four sign-ins of this test and the three refusals above.
    assert "71 events" in visible_text(page.text)
    assert rows(page.text) == 50 and "page=2" in page.text
    assert rows(client.get("/admin/audit?page=2").text) == 21
    viewed = client.get("/admin/audit", params={"action": "patient_viewed"}).text
    assert "2 events" in visible_text(viewed)  # clinic two's view is not shown


def test_filters_by_person_patient_action_and_date(world: World, client: TestClient) -> None:
    login(client, "admin@one.example")
    by_person = client.get("/admin/audit", params={"person": "CLINICIAN@one.example"}).text
    assert "2 events" in visible_text(by_person)
    by_patient = client.get("/admin/audit", params={"patient": "P-A1"}).text
    assert "2 events" in visible_text(by_patient)  # viewed by the clinician; "P-A1 old" note
    patient_acting = client.get("/admin/audit", params={"patient": "P-B1"}).text
    assert "60 events" in visible_text(patient_acting)
    by_action = client.get("/admin/audit", params={"action": "export"}).text
    assert "2 events" in visible_text(by_action)
    day = OLD.date().isoformat()
    by_date = client.get("/admin/audit", params={"date_from": day, "date_to": day}).text
    assert "1 event" in visible_text(by_date)
    bad = client.get("/admin/audit", params={"date_from": "yesterday"})
    assert bad.status_code == 422 and 'id="date_from-error"' in bad.text
    assert 'value="yesterday"' in bad.text
    nobody = client.get("/admin/audit", params={"person": "nobody@one.example"}).text
    assert "0 events" in visible_text(nobody)


def test_export_of_filtered_events_is_itself_audited(
    world: World, client: TestClient, engine: Engine
) -> None:
    login(client, "admin@one.example")
    response = submit(
        client, "/admin/audit?action=export", "/admin/audit/export", {"action": "export"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in exported] == ["export", "export"]
    assert exported[0]["actor_login"] == "fa@one.example"  # oldest first
    with open_session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).one()
    assert event.detail["filters"]["action"] == "export"
    (summary,) = event.detail["files"].values()
    assert summary["rows"] == 2
    assert event.at > app_clock.now() - timedelta(minutes=5)
