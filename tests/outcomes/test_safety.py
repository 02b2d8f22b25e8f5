"""The PHQ-9 item 9 pathway: a risk answer is recorded first, whatever else happens to the
form; one open flag per enrolment shows the latest answer in words with its history."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.db import open_session
from app.outcomes import questionnaires
from app.outcomes import safety as safety_flags
from app.outcomes.models import Administration, SafetyFlag
from tests.factories import World, login
from tests.pages import submit

PHQ9 = "/api/v1/questionnaires/phq9/baseline"

# The groups start in three days: the baseline questionnaires are open.
pytestmark = pytest.mark.world(started_days_ago=-3)


def _phq9(**changes: object) -> dict[str, object]:
    answers: dict[str, object] = {f"q{n}": 1 for n in range(1, 10)}
    answers["q9"] = 0
    answers.update(changes)
    return answers


def _flags(engine: Engine) -> list[SafetyFlag]:
    with open_session(engine) as session:
        return list(session.exec(select(SafetyFlag).order_by(SafetyFlag.id)).all())


def _view(engine: Engine, world: World) -> safety_flags.FlagView:
    with open_session(engine) as session:
        [view] = safety_flags.open_safety_flags(session, viewer=world.users["facilitator_a"])
        view.history  # noqa: B018  (read while the session is open)
        return view


def test_the_flag_shows_the_answer_sent_not_the_first_drafts(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    draft = client.put(PHQ9 + "/answers", json={"answers": {"q9": 1}})
    assert draft.status_code == 200 and draft.json()["crisis_text"]
    sent = client.post(PHQ9 + "/submit", json={"answers": _phq9(q9=3)})
    assert sent.status_code == 201 and sent.json()["crisis_text"]
    [flag] = _flags(engine)
    assert flag.answer == 3
    view = _view(engine, world)
    assert view.answer_words == "Nearly every day"
    assert [(e.answer, e.how) for e in view.history] == [
        ("Several days", "saved in a draft"),
        ("Nearly every day", "sent"),
    ]


def test_a_malformed_answer_beside_a_risk_answer_still_raises_the_flag(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    response = client.post(PHQ9 + "/submit", json={"answers": _phq9(q9=2, q3="often", q4=9)})
    assert response.status_code == 422
    fields = [d["loc"] for d in response.json()["detail"]]
    assert fields == [["body", "answers", "q3"], ["body", "answers", "q4"]]
    assert "116 123" in response.json()["crisis_text"]
    [flag] = _flags(engine)
    assert (flag.item_id, flag.answer, flag.acknowledged_at) == ("q9", 2, None)
    assert flag.answer_history[-1]["how"] == "refused"


# The baseline window closed four days ago.
@pytest.mark.world(started_days_ago=10)
def test_a_risk_answer_sent_after_the_window_closed_still_raises_the_flag(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    response = client.post(PHQ9 + "/submit", json={"answers": _phq9(q9=1)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timepoint"]
    assert response.json()["crisis_text"]
    [flag] = _flags(engine)
    assert (flag.answer, flag.administration_id, flag.timepoint) == (1, None, "baseline")
    with open_session(engine) as session:
        assert session.exec(select(Administration)).all() == []


def test_a_risk_answer_on_a_form_already_sent_still_raises_the_flag(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    assert client.post(PHQ9 + "/submit", json={"answers": _phq9()}).status_code == 201
    again = client.post(PHQ9 + "/submit", json={"answers": _phq9(q9=2)})
    assert again.status_code == 409 and again.json()["crisis_text"]
    assert [f.answer for f in _flags(engine)] == [2]


def test_an_incomplete_paper_form_with_a_risk_answer_still_raises_the_flag(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "fa@one.example")
    url = "/outcomes/patients/P-A1/enter?instrument=phq9&timepoint=baseline"
    form = {"instrument": "phq9", "timepoint": "baseline", "q_q1": "1", "q_q2": "2", "q_q9": "2"}
    response = submit(client, url, "/outcomes/patients/P-A1/enter", form)
    assert response.status_code == 422
    assert "raised a safety flag" in response.text
    [flag] = _flags(engine)
    assert flag.answer == 2 and flag.answer_history[-1]["how"] == "refused"
    assert _view(engine, world).answer_words == "More than half the days"


def test_a_correction_that_keeps_a_risk_answer_updates_the_open_flag(
    engine: Engine, world: World
) -> None:
    staff, enrolment = world.users["facilitator_a"], world.enrolments["A1"]
    with open_session(engine, write=True) as session:
        first, _ = questionnaires.enter_paper_form(
            session, staff=staff, enrolment=enrolment, instrument_id="phq9",
            timepoint="baseline", answers=_phq9(q9=1),
        )  # fmt: skip
        questionnaires.enter_paper_form(
            session, staff=staff, enrolment=enrolment, instrument_id="phq9",
            timepoint="baseline", answers=_phq9(q9=2), correction=True,
        )  # fmt: skip
        session.commit()
    [flag] = _flags(engine)
    assert flag.answer == 2 and flag.administration_id != first.id
    assert [e["how"] for e in flag.answer_history] == ["paper", "correction"]


def test_a_malformed_safety_answer_names_the_item_and_keeps_the_other_answers(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    response = client.put(PHQ9 + "/answers", json={"answers": _phq9(q9=7)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "answers", "q9"]
    assert response.json()["crisis_text"] is None
    with open_session(engine) as session:
        [draft] = session.exec(select(Administration)).all()
        assert len(draft.answers) == 8 and "q9" not in draft.answers
    assert _flags(engine) == []


def test_an_acknowledged_flag_stays_closed_and_a_new_risk_answer_opens_another(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    client.put(PHQ9 + "/answers", json={"answers": {"q9": 1}})
    with open_session(engine, write=True) as session:
        [flag] = session.exec(select(SafetyFlag)).all()
        safety_flags.acknowledge_safety_flag(
            session, flag_id=flag.id or 0, viewer=world.users["clinician"], action="passed_to_gp"
        )
        session.commit()
    client.put(PHQ9 + "/answers", json={"answers": {"q9": 2}})
    assert [(f.answer, f.acknowledged_action) for f in _flags(engine)] == [
        (1, "passed_to_gp"),
        (2, None),
    ]


@pytest.mark.parametrize(
    ("raised", "days", "due"),
    [
        ("2026-12-04 15:00", 1, "2026-12-07 15:00"),  # Friday -> Monday
        ("2026-12-05 10:00", 1, "2026-12-07 10:00"),  # Saturday -> Monday
        ("2026-12-07 09:00", 2, "2026-12-09 09:00"),  # Monday -> Wednesday
    ],
)
def test_the_response_time_counts_working_days(raised: str, days: int, due: str) -> None:
    zone = ZoneInfo("Europe/London")
    start = datetime.fromisoformat(raised).replace(tzinfo=zone).astimezone(UTC)
    expected = datetime.fromisoformat(due).replace(tzinfo=zone)
    assert safety_flags.working_days_after(start, days, zone) == expected
