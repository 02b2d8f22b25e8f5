"""Audited staff views keep working while patients write (on SQLite a read transaction that
later writes its audit event cannot take the write lock once someone else has committed)."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.practice import service as practice_service
from app.practice.schemas import CheckInCreate
from tests.factories import World, login


def _board_views_audited(engine: Engine) -> int:
    """Audit events for looks at GRP-A's board."""
    with open_session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "view_group_practice", AuditEvent.object_id == "GRP-A"
            )
        ).all()
    return len(events)


def test_the_board_stays_available_while_patients_record_ratings(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "fa@one.example")
    stop = threading.Event()

    def patients_recording() -> None:
        enrolment = world.enrolments["B1"]
        while not stop.is_set():
            with open_session(engine, write=True) as session:
                practice_service.record_check_in(
                    session,
                    enrolment=enrolment,
                    payload=CheckInCreate.model_validate(
                        {
                            "id": str(uuid.uuid4()),
                            "recorded_at": "2026-01-05T09:00:00+00:00",
                            "timezone": "Europe/London",
                            "local_date": "2026-01-05",
                            "ratings": {"pain_intensity": 4},
                        }
                    ),
                )
                session.commit()

    writer = threading.Thread(target=patients_recording)
    writer.start()
    try:
        statuses = [client.get("/groups/GRP-A").status_code for _ in range(25)]
    finally:
        stop.set()
        writer.join()

    assert statuses == [200] * 25
    assert _board_views_audited(engine) == 25  # one event per view: none lost, none doubled


def test_many_staff_looking_at_once_all_get_their_page(
    client: TestClient, engine: Engine, world: World
) -> None:
    # Each view records its audit event in a write of its own: it must give its read's
    # connection back first, or a crowd of views holds every pooled connection while each
    # waits for one more.
    login(client, "fa@one.example")

    with ThreadPoolExecutor(max_workers=48) as crowd:
        statuses = list(crowd.map(lambda _: client.get("/groups/GRP-A").status_code, range(96)))

    assert statuses == [200] * 96
    assert _board_views_audited(engine) == 96
