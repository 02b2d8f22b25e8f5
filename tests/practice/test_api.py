"""Recording practice through the JSON API: idempotent, validated, private."""

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import select

from app import clock as app_clock
from app.db import open_session
from app.practice.models import CheckIn, PracticeLog
from tests.factories import World, login

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def patient(client: TestClient, world: World) -> TestClient:
    return login(client, "P-A1")


def first_exercise_id(client: TestClient) -> int:
    programme = client.get("/api/v1/programme").json()
    return int(programme["weeks"][0]["exercises"][0]["id"])


def practice_body(client: TestClient, **changes: Any) -> dict[str, Any]:
    started = app_clock.now_in(LONDON) - timedelta(minutes=20)
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "exercise_id": first_exercise_id(client),
        "started_at": started.isoformat(),
        "timezone": "Europe/London",
        "local_date": started.date().isoformat(),
        "listened_seconds": 480,
        "completed": True,
        "ratings_before": {"pain_intensity": 7, "pain_distress": 6, "mood": 4},
        "ratings_after": {"pain_intensity": 5, "pain_distress": 4, "mood": 6},
    }
    body.update(changes)
    return body


def count(engine: Engine, model: type) -> int:
    with open_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_practice_is_stored_once_however_often_it_is_sent(
    patient: TestClient, engine: Engine
) -> None:
    body = practice_body(patient)

    first = patient.post("/api/v1/practice-logs", json=body)
    again = patient.post("/api/v1/practice-logs", json=body)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["ratings_after"] == {"pain_intensity": 5, "pain_distress": 4, "mood": 6}
    assert count(engine, PracticeLog) == 1
    assert count(engine, CheckIn) == 2


def test_the_same_id_with_a_different_body_is_refused_and_changes_nothing(
    patient: TestClient, engine: Engine
) -> None:
    body = practice_body(patient)
    patient.post("/api/v1/practice-logs", json=body)

    changed = patient.post("/api/v1/practice-logs", json={**body, "listened_seconds": 60})

    assert changed.status_code == 422
    assert changed.json()["detail"][0]["loc"] == ["body", "id"]
    stored = patient.get("/api/v1/practice-logs").json()
    assert [log["listened_seconds"] for log in stored] == [480]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ratings_after": {"pain_intensity": 11}}, ["body", "ratings_after", "pain_intensity"]),
        ({"ratings_before": {"mood": -1}}, ["body", "ratings_before", "mood"]),
        ({"ratings_before": {"mood": 4.5}}, ["body", "ratings_before", "mood"]),
        ({"ratings_before": {"mood": "4"}}, ["body", "ratings_before", "mood"]),
        ({"local_date": "yesterday"}, ["body", "local_date"]),
        ({"started_at": "2026-11-26T10:00:00"}, ["body", "started_at"]),
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"listened_seconds": -5}, ["body", "listened_seconds"]),
        ({"id": "not-a-uuid"}, ["body", "id"]),
        ({"exercise_id": 999999}, ["body", "exercise_id"]),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    patient: TestClient, engine: Engine, changes: dict[str, Any], field: list[str]
) -> None:
    response = patient.post("/api/v1/practice-logs", json=practice_body(patient, **changes))

    assert response.status_code == 422
    assert field in [error["loc"] for error in response.json()["detail"]]
    assert count(engine, PracticeLog) == 0
    assert count(engine, CheckIn) == 0


def test_a_local_date_that_disagrees_with_the_start_time_is_refused(patient: TestClient) -> None:
    body = practice_body(patient)
    body["local_date"] = "2020-01-01"

    response = patient.post("/api/v1/practice-logs", json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "local_date"]


def test_practice_late_in_the_evening_counts_for_that_local_day(patient: TestClient) -> None:
    # 23:30 in Auckland is still the morning before in UTC.
    started = datetime(2026, 3, 14, 23, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    body = practice_body(
        patient,
        started_at=started.isoformat(),
        timezone="Pacific/Auckland",
        local_date="2026-03-14",
    )

    response = patient.post("/api/v1/practice-logs", json=body)

    assert response.status_code == 201
    assert response.json()["local_date"] == "2026-03-14"


@pytest.mark.clock
def test_a_phone_clock_far_in_the_future_is_stored_and_flagged(patient: TestClient) -> None:
    started = app_clock.now_in(LONDON) + timedelta(days=3)
    body = practice_body(
        patient, started_at=started.isoformat(), local_date=started.date().isoformat()
    )

    response = patient.post("/api/v1/practice-logs", json=body)

    assert response.status_code == 201
    assert response.json()["clock_suspect"] is True


def test_practice_without_audio_needs_a_kind(patient: TestClient) -> None:
    body = practice_body(patient, exercise_id=None, kind="group", ratings_before=None)
    assert patient.post("/api/v1/practice-logs", json=body).status_code == 201

    neither = practice_body(patient, exercise_id=None)
    both = practice_body(patient, kind="own")
    assert patient.post("/api/v1/practice-logs", json=neither).status_code == 422
    assert patient.post("/api/v1/practice-logs", json=both).status_code == 422


def test_a_patient_sees_only_their_own_logs(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    body = practice_body(client)
    client.post("/api/v1/practice-logs", json=body)
    client.post("/api/v1/auth/logout")

    login(client, "P-A2")
    assert client.get("/api/v1/practice-logs").json() == []
    # Replaying someone else's id is refused, without revealing what is stored.
    stolen = client.post(
        "/api/v1/practice-logs", json={**body, "exercise_id": first_exercise_id(client)}
    )
    assert stolen.status_code == 422


def test_staff_cannot_use_the_patient_api(client: TestClient, world: World) -> None:
    login(client, "fa@one.example")
    assert client.get("/api/v1/practice-logs").status_code == 403


def test_signing_in_is_needed(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/practice-logs").status_code == 401
    assert client.get("/api/v1/programme").status_code == 401


@pytest.mark.clock
def test_standalone_ratings_are_idempotent(patient: TestClient, engine: Engine) -> None:
    now = app_clock.now_in(LONDON)
    body = {
        "id": str(uuid.uuid4()),
        "recorded_at": now.isoformat(),
        "timezone": "Europe/London",
        "local_date": now.date().isoformat(),
        "ratings": {"pain_intensity": 6, "mood": 5},
    }

    assert patient.post("/api/v1/check-ins", json=body).status_code == 201
    assert patient.post("/api/v1/check-ins", json=body).status_code == 200
    changed = {**body, "ratings": {"pain_intensity": 2}}
    assert patient.post("/api/v1/check-ins", json=changed).status_code == 422
    assert count(engine, CheckIn) == 1


def test_undo_deletes_ones_own_fresh_log_and_its_ratings_and_is_safe_to_repeat(
    client: TestClient, world: World, engine: Engine
) -> None:
    from app import clock

    login(client, "P-A1")
    mine = practice_body(client)
    client.post("/api/v1/practice-logs", json=mine)
    old = practice_body(client)
    with clock.fixed_at(clock.now() - timedelta(hours=2)):
        client.post("/api/v1/practice-logs", json=old)
    client.post("/api/v1/auth/logout")

    login(client, "P-A2")  # another patient cannot undo it
    assert client.delete(f"/api/v1/practice-logs/{mine['id']}").status_code == 404
    client.post("/api/v1/auth/logout")

    login(client, "P-A1")
    assert client.delete(f"/api/v1/practice-logs/{mine['id']}").status_code == 204
    assert client.delete(f"/api/v1/practice-logs/{mine['id']}").status_code == 204  # again
    never_sent = uuid.uuid4()
    assert client.delete(f"/api/v1/practice-logs/{never_sent}").status_code == 204
    refused = client.delete(f"/api/v1/practice-logs/{old['id']}")
    assert refused.status_code == 422 and "log_id" in refused.text  # two hours on: kept
    with open_session(engine) as session:
        kept = session.exec(select(PracticeLog.id)).all()
    assert kept == [old["id"]]
    assert count(engine, CheckIn) == 2  # the undone log's ratings went with it
