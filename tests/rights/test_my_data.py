"""My data: the export holds exactly the patient's rows; withdrawal keeps or erases, with what
disappears from the board, the summary and the exports, and what the clinic keeps."""

import csv
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import func, select

from app import clock as app_clock
from app.audit.models import AuditEvent
from app.auth.models import AuthSession
from app.db import open_session
from app.exports import service as exports_service
from app.groups.models import Enrolment
from app.outcomes.models import Administration, AdministrationStatus
from app.practice.models import CheckIn, PracticeLog, Reflection
from app.reminders.models import PushSubscription, ReminderPreference
from app.rights import service as rights_service
from tests.factories import PASSWORD, World, login
from tests.pages import submit, visible_text

LONDON = ZoneInfo("Europe/London")
EXPORT_KEYS = {
    "account",
    "enrolments",
    "consents",
    "practice_logs",
    "check_ins",
    "reflections",
    "questionnaires",
    "reminders",
    "views",
}


def record_practice(client: TestClient, words: str) -> str:
    exercise_id = client.get("/api/v1/programme").json()["weeks"][0]["exercises"][0]["id"]
    started = app_clock.now_in(LONDON) - timedelta(minutes=30)
    log_id = str(uuid.uuid4())
    body = {
        "id": log_id,
        "exercise_id": exercise_id,
        "started_at": started.isoformat(),
        "timezone": "Europe/London",
        "local_date": started.date().isoformat(),
        "listened_seconds": 600,
        "completed": True,
        "ratings_after": {"pain_intensity": 4, "pain_distress": 3, "mood": 7},
    }
    assert client.post("/api/v1/practice-logs", json=body).status_code == 201
    reflection = {"kind": "weekly", "week_number": 1, "text": words}
    assert client.put(f"/api/v1/reflections/{uuid.uuid4()}", json=reflection).status_code in (
        200,
        201,
    )
    return log_id


def add_questionnaires(engine: Engine, enrolment: Enrolment) -> None:
    """A submitted baseline (clinical record) and an unsent draft."""
    with open_session(engine, write=True) as session:
        session.add_all(
            [
                Administration(
                    enrolment_id=enrolment.id or 0,
                    instrument_id="peg",
                    instrument_version="1",
                    timepoint="baseline",
                    status=AdministrationStatus.submitted,
                    answers={"pain": 6, "enjoyment": 5, "activity": 7},
                    score_total=6.0,
                    submitted_at=app_clock.now_in(LONDON),
                ),
                Administration(
                    enrolment_id=enrolment.id or 0,
                    instrument_id="phq9",
                    instrument_version="1",
                    timepoint="baseline",
                    answers={"phq9_1": 1},
                ),
            ]
        )
        session.commit()


def rows(engine: Engine, model: Any, enrolment: Enrolment) -> int:
    with open_session(engine) as session:
        return int(
            session.exec(
                select(func.count()).select_from(model).where(model.enrolment_id == enrolment.id)
            ).one()
        )


def practice_codes_in_export(engine: Engine, world: World, tmp_path: Path) -> set[str]:
    with open_session(engine, write=True) as session:
        result = exports_service.write_bundle(
            session, actor=world.users["clinician"], out_dir=tmp_path / uuid.uuid4().hex
        )
        session.commit()
    with (result.directory / "practice_logs.csv").open() as file:
        return {row["participant_code"] for row in csv.DictReader(file)}


def test_my_export_holds_exactly_my_rows(client: TestClient, world: World) -> None:
    login(client, "P-A2")
    record_practice(client, "Someone else's words")
    client.cookies.clear()
    login(client, "P-A1")
    mine = record_practice(client, "My own words")
    client.cookies.clear()
    login(client, "fa@one.example")
    client.get("/groups/GRP-A/patients/P-A1")  # a view the patient will see
    client.cookies.clear()
    login(client, "P-A1")

    response = client.get("/api/v1/me/export")

    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert set(data) >= EXPORT_KEYS
    assert data["account"]["login"] == "P-A1"
    assert [e["participant_code"] for e in data["enrolments"]] == ["P-A1"]
    assert [log["id"] for log in data["practice_logs"]] == [mine]
    assert [c["pain_intensity"] for c in data["check_ins"]] == [4]
    assert [r["text"] for r in data["reflections"]] == ["My own words"]
    assert [(v["by"], v["what"]) for v in data["views"]] == [
        ("facilitator_a", "view_patient_detail")
    ]
    assert "Someone else" not in response.text

    page = visible_text(client.get("/my-data").text)
    assert "1 practices logged" in page and "My own words" in page
    assert "facilitator_a" in page


def test_staff_produce_the_same_file_for_a_subject_access_request(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    record_practice(client, "Words")
    mine = client.get("/api/v1/me/export").json()
    client.cookies.clear()
    login(client, "fa@one.example")

    response = client.get("/groups/GRP-A/patients/P-A1/my-data.json")

    assert response.status_code == 200
    assert response.json()["practice_logs"] == mine["practice_logs"]
    assert client.get("/groups/GRP-B/patients/P-B1/my-data.json").status_code == 404
    with open_session(engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert "subject_access_export" in actions


def test_withdrawal_needs_the_passphrase_and_changes_nothing_without_it(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    record_practice(client, "Words")
    refused = client.post("/api/v1/me/withdraw", json={"erase": True, "password": "wrong one"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "password"]
    assert rows(engine, PracticeLog, world.enrolments["A1"]) == 1
    assert client.get("/api/v1/me/export").status_code == 200  # still signed in


def test_withdrawing_and_keeping_closes_the_account_and_keeps_the_records(
    client: TestClient, world: World, engine: Engine, tmp_path: Path
) -> None:
    login(client, "P-A1")
    record_practice(client, "Words")

    response = client.post("/api/v1/me/withdraw", json={"erase": False, "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["erased"] is False
    assert client.get("/api/v1/me/export").status_code == 401  # sessions ended
    assert (
        client.post("/api/v1/auth/login", json={"login": "P-A1", "password": PASSWORD}).status_code
        == 401
    )
    assert rows(engine, PracticeLog, world.enrolments["A1"]) == 1
    assert "P-A1" in practice_codes_in_export(engine, world, tmp_path)
    with open_session(engine) as session:
        assert session.exec(
            select(AuditEvent.action).where(AuditEvent.action == "withdrawal_kept")
        ).first()


def test_erasing_removes_practice_from_board_summary_and_exports_and_keeps_the_clinical_record(
    client: TestClient, world: World, engine: Engine, tmp_path: Path
) -> None:
    enrolment = world.enrolments["A1"]
    add_questionnaires(engine, enrolment)
    login(client, "P-A1")
    record_practice(client, "Words I want gone")
    client.cookies.clear()
    login(client, "P-A2")
    record_practice(client, "Words that stay")
    client.cookies.clear()
    login(client, "P-A1")
    assert "P-A1" in practice_codes_in_export(engine, world, tmp_path)

    response = client.post("/api/v1/me/withdraw", json={"erase": True, "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["erased_counts"]["practice_logs"] == 1
    for model in (PracticeLog, CheckIn, Reflection):
        assert rows(engine, model, enrolment) == 0
    with open_session(engine) as session:
        kept = session.exec(
            select(Administration).where(Administration.enrolment_id == enrolment.id)
        ).all()
        assert [a.status for a in kept] == [AdministrationStatus.submitted]  # the draft went
        assert session.exec(select(func.count()).select_from(PushSubscription)).one() == 0
        assert (
            session.exec(
                select(func.count())
                .select_from(AuthSession)
                .where(
                    AuthSession.user_id == enrolment.user_id,
                    AuthSession.revoked_at.is_(None),  # type: ignore[union-attr]
                )
            ).one()
            == 0
        )
    assert practice_codes_in_export(engine, world, tmp_path) == {"P-A2"}

    client.cookies.clear()
    login(client, "clinician@one.example")
    board = client.get("/api/v1/groups/GRP-A/board").json()
    erased_row = next(r for r in board["rows"] if r["participant_code"] == "P-A1")
    assert erased_row["last_activity"] is None and erased_row["minutes_this_week"] == 0
    summary = client.get("/api/v1/outcomes/summary", params={"group": "GRP-A"}).json()
    assert summary["erased_participants"] == 1
    assert "P-A1" not in {row["participant_code"] for row in summary["adherence"] if row["minutes"]}
    assert "1 patient withdrew and asked for what they recorded to be erased" in visible_text(
        client.get("/outcomes").text
    )


def test_the_my_data_page_says_what_is_kept_before_the_choice_and_withdraws(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    record_practice(client, "Words")
    page = visible_text(client.get("/my-data").text)
    assert "completed questionnaires (part of your clinical record)" in page
    assert "safety flags" in page and "audit trail" in page

    refused = submit(
        client, "/my-data", "/my-data/withdraw", {"choice": "erase", "password": "nope"}
    )
    assert refused.status_code == 422
    assert 'id="password-error"' in refused.text

    done = submit(
        client, "/my-data", "/my-data/withdraw", {"choice": "erase", "password": PASSWORD}
    )
    assert done.status_code == 200
    assert "What you recorded has been erased." in visible_text(done.text)
    assert rows(engine, PracticeLog, world.enrolments["A1"]) == 0


def test_staff_withdrawal_offers_the_same_choice(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    record_practice(client, "Words")
    client.cookies.clear()
    login(client, "P-A2")
    record_practice(client, "Words kept")
    choice = {"practice": True, "time_of_day": "08:00", "days": [0], "timezone": "Europe/London"}
    assert client.put("/api/v1/reminders/preferences", json=choice).status_code == 200
    client.cookies.clear()
    login(client, "fa@one.example")
    url = "/groups/GRP-A/patients/P-A1"
    assert "Erase what was recorded." in visible_text(client.get(url).text)

    kept_url = "/groups/GRP-A/patients/P-A2"
    kept = submit(client, kept_url, f"{kept_url}/withdraw", {"reason": "Moved away"})
    assert kept.status_code == 303
    assert rows(engine, PracticeLog, world.enrolments["A2"]) == 1
    with open_session(engine) as session:
        left = session.exec(select(func.count()).select_from(ReminderPreference)).one()
    assert left == 0  # reminders stop either way

    response = submit(
        client,
        url,
        f"{url}/withdraw",
        {"reason": "Asked to stop and erase", "data_choice": "erase"},
    )

    assert response.status_code == 303
    assert rows(engine, PracticeLog, world.enrolments["A1"]) == 0
    assert "was erased at their request" in visible_text(client.get(url).text)
    with open_session(engine) as session:
        assert session.get(Enrolment, world.enrolments["A1"].id).erased_at is not None  # type: ignore[union-attr]


def test_an_erasure_that_fails_part_way_leaves_nothing_half_deleted(
    client: TestClient, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, "P-A1")
    record_practice(client, "Words")

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    # Logs, ratings and words are deleted first; stopping reminders (next) fails.
    monkeypatch.setattr(rights_service, "stop_reminders", fail)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/me/withdraw", json={"erase": True, "password": PASSWORD})

    enrolment = world.enrolments["A1"]
    assert rows(engine, PracticeLog, enrolment) == 1
    assert rows(engine, CheckIn, enrolment) == 1
    assert rows(engine, Reflection, enrolment) == 1
    with open_session(engine) as session:
        stored = session.get(Enrolment, enrolment.id)
        assert stored is not None and stored.erased_at is None and stored.status == "active"
