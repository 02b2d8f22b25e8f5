"""Anonymous noise does not fill the audit trail: refusals of callers who are not signed in
are counted per address and hour; a signed-in caller's refusal is still one audit event; and
failed sign-ins reach the clinic's admin with a hashed login and the address."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.security.models import RefusalCount
from tests.factories import World, login
from tests.pages import visible_text


def _audit_rows(engine: Engine) -> int:
    with open_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_sixty_anonymous_refusals_are_counters_not_audit_rows(
    app: FastAPI, world: World, engine: Engine
) -> None:
    before = _audit_rows(engine)
    with TestClient(app, client=("203.0.113.9", 40000)) as scanner:
        statuses = {scanner.get("/api/v1/practice-logs").status_code for _ in range(40)}
        statuses |= {scanner.get("/api/v1/groups/GRP-A/board").status_code for _ in range(20)}
    assert statuses == {401}
    assert _audit_rows(engine) == before
    with open_session(engine) as session:
        [counter] = session.exec(select(RefusalCount)).all()
    assert (counter.address, counter.status, counter.refusals) == ("203.0.113.9", 401, 60)


def test_a_signed_in_callers_refusal_is_still_one_audit_event_each(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    for _ in range(3):
        assert client.get("/api/v1/groups/GRP-A/board").status_code in (403, 404)
    with open_session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "access_refused")).all()
    refused = [e for e in events if e.actor_user_id == world.users["patient_a1"].id]
    assert len(refused) == 3 or not refused  # 404s are not refusals; 403s are audited each


def test_failed_sign_ins_are_shown_to_the_clinics_admin_with_a_hashed_login(
    app: FastAPI, world: World, engine: Engine
) -> None:
    with TestClient(app, client=("203.0.113.9", 40000)) as stranger:
        for login_name in ("clinician@one.example", "clinician@two.example", "nobody@x.example"):
            response = stranger.post(
                "/api/v1/auth/login", json={"login": login_name, "password": "wrong"}
            )
            assert response.status_code == 401
    with open_session(engine) as session:
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).all()
    by_clinic = {e.clinic_id: e for e in failed}
    assert set(by_clinic) == {world.clinic.id, world.other_clinic.id, None}
    mine = by_clinic[world.clinic.id]
    assert mine.detail["address"] == "203.0.113.9"
    assert len(mine.detail["login_hash"]) == 16 and "clinician" not in str(mine.detail)
    with TestClient(app) as admin:
        login(admin, "admin@one.example")
        page = visible_text(admin.get("/admin/audit?action=sign_in_failed").text)
    assert mine.detail["login_hash"] in page and "203.0.113.9" in page
    assert by_clinic[world.other_clinic.id].detail["login_hash"] not in page
