"""The patient's pages: Today, the player, My progress and reflections, as a patient reads them."""

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app import clock as app_clock
from tests.factories import World, login
from tests.pages import visible_text

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def patient(client: TestClient, world: World) -> TestClient:
    return login(client, "P-A1")


def _log(client: TestClient, *, days_ago: int = 0, minutes: int = 10, **extra: Any) -> None:
    started = app_clock.now_in(LONDON) - timedelta(days=days_ago, minutes=minutes + 1)
    body = {
        "id": str(uuid.uuid4()),
        "kind": "own",
        "started_at": started.isoformat(),
        "timezone": "Europe/London",
        "local_date": started.date().isoformat(),
        "listened_seconds": minutes * 60,
        "completed": True,
        **extra,
    }
    if "exercise_id" in extra:
        body.pop("kind")
    response = client.post("/api/v1/practice-logs", json=body)
    assert response.status_code == 201, response.text


@pytest.mark.clock
def test_today_shows_the_current_week_its_teaching_and_a_kind_target(patient: TestClient) -> None:
    _log(patient, days_ago=0)
    text = visible_text(patient.get("/today").text)
    assert "Week 2" in text and "The body" in text
    assert "Read this week's teaching" in text and "More teaching." in text
    assert "1 of 5 days this week" in text
    assert "streak" not in text.lower()
    assert "Body scan" in text and "10 min" in text


@pytest.mark.clock
def test_earlier_weeks_stay_open_and_later_ones_do_not(patient: TestClient) -> None:
    text = visible_text(patient.get("/today?week=1").text)
    assert "Week 1" in text and "Welcome" in text and "an earlier week" in text
    # Week 3 does not exist and a later week is not open: the current week is shown.
    assert "The body" in visible_text(patient.get("/today?week=3").text)
    assert "The body" in visible_text(patient.get("/today?week=first").text)


def test_the_player_page_has_its_transcript_one_tap_away(patient: TestClient) -> None:
    programme = patient.get("/api/v1/programme").json()
    exercise = programme["weeks"][1]["exercises"][0]
    page = patient.get(f"/practice/{exercise['id']}")
    assert page.status_code == 200
    assert f'href="/exercises/{exercise["id"]}/transcript"' in page.text
    assert "Read the words" in visible_text(page.text)


@pytest.mark.clock
def test_progress_shows_days_against_the_target_and_what_helps(patient: TestClient) -> None:
    programme = patient.get("/api/v1/programme").json()
    exercise_id = programme["weeks"][1]["exercises"][0]["id"]
    for before, after in ((7, 5), (6, 5)):
        _log(
            patient,
            exercise_id=exercise_id,
            ratings_before={"pain_intensity": before, "pain_distress": before, "mood": 4},
            ratings_after={"pain_intensity": after, "pain_distress": after - 1, "mood": 6},
        )
    text = visible_text(patient.get("/progress").text)
    assert "1 of 5 days" in text
    assert "What seems to help me" in text
    assert "Body scan (2 practices)" in text
    assert "Pain -1.5" in text and "Distress -2.5" in text and "Mood +2.0" in text


def test_reflections_are_kept_privately_and_edited_by_id(patient: TestClient) -> None:
    reflection_id = str(uuid.uuid4())
    body = {"kind": "weekly", "week_number": 2, "text": "I noticed my shoulders."}
    assert patient.put(f"/api/v1/reflections/{reflection_id}", json=body).status_code == 201
    assert patient.put(f"/api/v1/reflections/{reflection_id}", json=body).status_code == 200
    edited = {**body, "text": "I noticed my shoulders soften."}
    assert patient.put(f"/api/v1/reflections/{reflection_id}", json=edited).status_code == 200
    mine = patient.get("/api/v1/reflections").json()
    assert [r["text"] for r in mine] == ["I noticed my shoulders soften."]
    page = visible_text(patient.get("/reflections").text)
    assert "What helped?" in page and "I noticed my shoulders soften." in page
    assert "What, if anything, has changed for you since joining the group?" in page


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "weekly", "text": "x"}, "body"),
        ({"kind": "weekly", "week_number": 9, "text": "x"}, "week_number"),
        ({"kind": "weekly", "week_number": 1, "text": "   "}, "text"),
        ({"kind": "end_of_programme", "text": "x", "share_name": True}, "body"),
    ],
)
def test_bad_reflections_are_refused_and_nothing_is_stored(
    patient: TestClient, body: dict[str, Any], field: str
) -> None:
    response = patient.put(f"/api/v1/reflections/{uuid.uuid4()}", json=body)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert patient.get("/api/v1/reflections").json() == []


def test_another_patient_cannot_overwrite_a_reflection(client: TestClient, world: World) -> None:
    reflection_id = str(uuid.uuid4())
    body = {"kind": "end_of_programme", "text": "Mine."}
    assert (
        login(client, "P-A1").put(f"/api/v1/reflections/{reflection_id}", json=body).status_code
        == 201
    )
    client.post("/api/v1/auth/logout")
    other = login(client, "P-A2")
    # Refused like any object that is not theirs: 404, not "this id is taken".
    assert (
        other.put(f"/api/v1/reflections/{reflection_id}", json={**body, "text": "No"}).status_code
        == 404
    )
    assert other.get("/api/v1/reflections").json() == []


def test_a_reflection_form_works_without_javascript(patient: TestClient) -> None:
    page = patient.get("/reflections")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    empty = patient.post(
        "/reflections",
        data={
            "csrf_token": token,
            "id": str(uuid.uuid4()),
            "kind": "weekly",
            "week_number": "2",
            "text": " ",
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert empty.status_code == 422 and "Please write something first." in empty.text
    saved = patient.post(
        "/reflections",
        data={
            "csrf_token": token,
            "id": str(uuid.uuid4()),
            "kind": "weekly",
            "week_number": "2",
            "text": "Calmer.",
        },
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Calmer." in visible_text(patient.get("/reflections").text)


def test_patient_pages_send_the_patient_app_and_its_strings(patient: TestClient) -> None:
    for url in ("/today", "/progress", "/reflections"):
        html = patient.get(url).text
        assert 'id="i18n"' in html and "js/app.js" in html and 'id="outbox-card"' in html
