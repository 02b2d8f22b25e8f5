"""The audit trail: append-only in the database itself, and what it records."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import DatabaseError
from sqlmodel import select

from app import clock as app_clock
from app import demo
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.config import Settings
from app.db import open_session
from app.main import create_app
from app.programme import service as programme_service
from app.security.models import RefusalCount
from tests.factories import World, login


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with open_session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_the_database_refuses_to_change_or_remove_audit_events(
    engine: Engine, world: World
) -> None:
    with open_session(engine, write=True) as session:
        audit.record(session, action="sign_in", actor=world.users["clinician"])
        session.commit()

    statements = [
        update(AuditEvent).values(action="nothing_to_see"),
        delete(AuditEvent),
        text("UPDATE audit_event SET actor_user_id = NULL"),
        text("DELETE FROM audit_event"),
    ]
    if engine.dialect.name == "postgresql":  # SQLite has no TRUNCATE
        statements.append(text("TRUNCATE audit_event"))
    for statement in statements:
        with open_session(engine, write=True) as session, pytest.raises(DatabaseError) as error:
            session.execute(statement)
            session.commit()
        assert "append-only" in str(error.value)

    assert [e.action for e in _events(engine, "sign_in")] == ["sign_in"]


def test_the_audit_service_has_no_way_to_change_or_remove() -> None:
    public = {name for name in dir(audit) if not name.startswith("_")}
    assert not {n for n in public if n.startswith(("update", "delete", "remove", "edit"))}


def test_refused_requests_are_recorded_with_who_and_what(
    client: TestClient, world: World, engine: Engine
) -> None:
    assert client.get("/api/v1/programme").status_code == 401
    login(client, "P-A1")
    assert client.get("/groups/GRP-A").status_code == 403  # a patient on a staff page

    refused = _events(engine, "access_refused")
    statuses = sorted((e.detail["status"], e.detail["path"], e.actor_role) for e in refused)
    # A signed-in caller's refusal is an audit event; an anonymous one is a counter per
    # address and hour (anyone can send 401s by the thousand: no audit row each).
    assert statuses == [(403, "/groups/GRP-A", "patient")]
    with open_session(engine) as session:
        counted = session.exec(select(RefusalCount)).all()
    assert [(c.status, c.refusals) for c in counted] == [(401, 1)]


def test_a_refusal_after_the_request_rolled_back_is_still_recorded(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    # The group loader runs a query, then refuses: the request's transaction rolls back.
    assert client.get("/groups/GRP-B").status_code == 404
    assert client.post("/api/v1/practice-logs", json={}).status_code == 403

    refused = _events(engine, "access_refused")
    assert [(e.detail["status"], e.actor_role) for e in refused] == [(403, "facilitator")]


def test_staff_views_of_patient_data_are_recorded(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    client.get("/groups/GRP-A")
    (event,) = _events(engine, "view_group_practice")
    assert (event.object_type, event.object_id, event.actor_role) == (
        "group",
        "GRP-A",
        "facilitator",
    )


def test_demo_refresh_works_with_the_append_only_trail(engine: Engine, settings: Settings) -> None:
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(
            session, programme_service.default_programme_path(settings.programmes_dir)
        )
        demo.seed_demo(
            session, today=app_clock.today("Europe/London"), seed=3, password="demo-pass-123"
        )
        session.commit()
    with TestClient(create_app(settings)) as client:
        login(client, "clinician@demo.example", "demo-pass-123")
    before = len(_events(engine, "sign_in"))
    with open_session(engine, write=True) as session:
        demo.seed_demo(
            session, today=app_clock.today("Europe/London"), seed=4, password="demo-pass-123"
        )
        session.commit()

    assert before == 1 and len(_events(engine, "sign_in")) == 1  # the trail outlives the clinic
