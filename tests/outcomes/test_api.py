"""Questionnaires through the JSON API: what is due, drafts, scoring, bad input and safety."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.outcomes import safety as safety_flags
from app.outcomes.models import Administration, SafetyFlag
from tests.factories import World, login

PHQ9 = "/api/v1/questionnaires/phq9/baseline"

# The groups start in three days: the baseline questionnaires are open.
pytestmark = pytest.mark.world(started_days_ago=-3)


def _phq9(**changes: int) -> dict[str, int]:
    answers = {f"q{n}": 1 for n in range(1, 10)}
    answers["q9"] = 0
    answers.update(changes)
    return answers


def _administrations(engine: Engine) -> list[Administration]:
    with open_session(engine) as session:
        return list(session.exec(select(Administration)).all())


def test_baseline_questionnaires_are_due_before_the_group_starts(
    client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    due = client.get("/api/v1/questionnaires/due").json()
    ids = {(d["instrument"], d["timepoint"]) for d in due}
    assert {("phq9", "baseline"), ("gad7", "baseline"), ("scs_sf", "baseline")} <= ids
    assert ("pseq", "baseline") not in ids  # no item text: staff enter its total
    phq9 = next(d for d in due if d["instrument"] == "phq9")
    assert len(phq9["items"]) == 9 and phq9["items"][8]["options"][3]["label"] == (
        "Nearly every day"
    )


@pytest.mark.world(started_days_ago=3)
def test_weekly_ratings_are_optional_and_end_is_not_due_in_week_one(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    due = client.get("/api/v1/questionnaires/due").json()
    weekly = {(d["instrument"], d["optional"]) for d in due if d["timepoint"] == "week_1"}
    assert weekly == {("pain_distress", True), ("pain_intensity", True)}
    assert not any(d["timepoint"] == "end" for d in due)
    response = client.post("/api/v1/questionnaires/phq9/end/submit", json={"answers": _phq9()})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timepoint"]
    assert "not due now" in response.json()["detail"][0]["msg"]
    assert _administrations(engine) == []


@pytest.mark.world(started_days_ago=60)
def test_nothing_is_due_between_end_and_follow_up(
    engine: Engine, client: TestClient, world: World
) -> None:
    # The test programme has two weeks: the end window closes on day 34, follow-up opens day 83.
    login(client, "P-A1")
    assert client.get("/api/v1/questionnaires/due").json() == []
    response = client.post(PHQ9 + "/submit", json={"answers": _phq9()})
    assert response.status_code == 422
    assert _administrations(engine) == []


def test_save_part_way_then_finish_and_score(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    first = client.put(PHQ9 + "/answers", json={"answers": {"q1": 3, "q2": 2}})
    assert first.status_code == 200, first.text
    assert first.json()["administration"]["status"] == "draft"
    due = {d["instrument"]: d for d in client.get("/api/v1/questionnaires/due").json()}
    assert due["phq9"]["answers"] == {"q1": 3, "q2": 2}

    rest = {f"q{n}": 1 for n in range(3, 9)} | {"q9": 0}
    sent = client.post(PHQ9 + "/submit", json={"answers": rest})
    assert sent.status_code == 201, sent.text
    body = sent.json()
    # Hand-scored: 3 + 2 + 6 x 1 + 0 = 11, "Moderate" (10-14), a case (>= 10).
    assert body["administration"]["score"] == 11
    assert body["administration"]["band"] == "Moderate"
    assert body["administration"]["is_case"] is True
    assert body["crisis_text"] is None and body["safety_flag_raised"] is False
    due = {d["instrument"] for d in client.get("/api/v1/questionnaires/due").json()}
    assert "phq9" not in due


def test_scs_sf_reverse_items_through_the_api(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    # Everything "almost never" (1): six reversed items score 5, six score 1: mean 3.00.
    answers = {f"q{n}": 1 for n in range(1, 13)}
    sent = client.post("/api/v1/questionnaires/scs_sf/baseline/submit", json={"answers": answers})
    assert sent.status_code == 201, sent.text
    assert sent.json()["administration"]["score"] == 3.0


def test_incomplete_submission_is_refused_and_keeps_the_draft(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    answers = _phq9()
    del answers["q4"]
    response = client.post(PHQ9 + "/submit", json={"answers": answers})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "answers", "q4"]
    assert "answer every question" in detail["msg"]
    [stored] = _administrations(engine)
    assert stored.status == "draft" and stored.score_total is None


def test_answers_outside_the_options_are_refused(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    for bad, field in (({"q3": 4}, "q3"), ({"q1": -1}, "q1"), ({"q10": 1}, "q10")):
        response = client.put(PHQ9 + "/answers", json={"answers": bad})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["body", "answers", field]
    response = client.post(PHQ9 + "/submit", json={"answers": _phq9(q2=7)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "answers", "q2"]
    response = client.put(PHQ9 + "/answers", json={"answers": {"q1": "often"}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "answers", "q1"]
    # Nothing is sent; the well-formed answers wait in the draft, the malformed ones do not.
    [draft] = _administrations(engine)
    assert draft.status == "draft" and draft.submitted_at is None
    assert set(draft.answers) == {f"q{n}" for n in range(1, 10)} - {"q2"}
    assert draft.answers["q1"] == _phq9()["q1"]


def test_a_duplicate_submission_is_refused(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    assert client.post(PHQ9 + "/submit", json={"answers": _phq9()}).status_code == 201
    again = client.post(PHQ9 + "/submit", json={"answers": _phq9(q1=3)})
    assert again.status_code == 409
    assert "already sent" in again.json()["detail"]
    assert client.put(PHQ9 + "/answers", json={"answers": {"q1": 3}}).status_code == 409
    [stored] = _administrations(engine)
    assert stored.score_total == 8


def test_unknown_questionnaire_or_timepoint(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    assert client.post("/api/v1/questionnaires/hads/baseline/submit").status_code == 404
    response = client.post("/api/v1/questionnaires/phq9/week_2/submit", json={})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timepoint"]


def test_staff_cannot_use_the_patient_questionnaire_api(client: TestClient, world: World) -> None:
    login(client, "fa@one.example")
    assert client.get("/api/v1/questionnaires/due").status_code == 403


def test_phq9_item_9_shows_crisis_text_at_once_and_raises_a_flag(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    sent = client.post(PHQ9 + "/submit", json={"answers": _phq9(q9=2)})
    assert sent.status_code == 201
    assert sent.json()["safety_flag_raised"] is True
    assert sent.json()["crisis_text"].startswith(world.clinic.crisis_text)
    assert "will contact you within 1 working day" in sent.json()["crisis_text"]
    assert "116 123" in sent.json()["crisis_text"]
    with open_session(engine) as session:
        [flag] = session.exec(select(SafetyFlag)).all()
        assert (flag.item_id, flag.answer, flag.acknowledged_at) == ("q9", 2, None)
        users = world.users
        seen = {
            name: [
                v.participant_code
                for v in safety_flags.open_safety_flags(
                    session, viewer=session.get(type(users[name]), users[name].id)
                )
            ]
            for name in ("facilitator_a", "facilitator_b", "clinician", "other_clinician")
        }
    assert seen == {
        "facilitator_a": ["P-A1"],
        "facilitator_b": [],
        "clinician": ["P-A1"],
        "other_clinician": [],
    }


def test_a_risk_answer_in_a_draft_is_never_lost(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    # Sent with questions missing: refused, but the risk answer is kept and flagged at once.
    response = client.post(PHQ9 + "/submit", json={"answers": {"q9": 1}})
    assert response.status_code == 422
    assert "116 123" in response.json()["crisis_text"]
    with open_session(engine) as session:
        assert len(session.exec(select(SafetyFlag)).all()) == 1
    # Finishing it later does not raise a second flag.
    rest = {f"q{n}": 0 for n in range(1, 9)}
    assert client.post(PHQ9 + "/submit", json={"answers": rest}).status_code == 201
    with open_session(engine) as session:
        assert len(session.exec(select(SafetyFlag)).all()) == 1
        assert session.exec(select(AuditEvent)).all() is not None


@pytest.mark.world(started_days_ago=10)
def test_summary_api_is_scoped_to_the_viewer(client: TestClient, world: World) -> None:
    login(client, "fa@one.example")
    assert client.get("/api/v1/outcomes/summary").json()["groups"] == ["GRP-A"]
    assert client.get("/api/v1/outcomes/summary?group=GRP-B").status_code == 404
    client.cookies.clear()
    login(client, "clinician@one.example")
    assert client.get("/api/v1/outcomes/summary").json()["groups"] == ["GRP-A", "GRP-B"]
    client.cookies.clear()
    login(client, "clinician@two.example")
    assert client.get("/api/v1/outcomes/summary").json()["groups"] == []
    client.cookies.clear()
    login(client, "P-A1")
    assert client.get("/api/v1/outcomes/summary").status_code == 403
