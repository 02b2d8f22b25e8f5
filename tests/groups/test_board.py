"""The engagement board, patient detail and session prep against hand-built data."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.groups import engagement
from app.groups.engagement import Flag, Severity
from tests.factories import World, login
from tests.groups.conftest import (
    log_practice,
    make_eight_week_group,
    rate,
    write_reflection,
)
from tests.pages import submit, visible_text


def _row(board: dict, code: str) -> dict:
    return next(r for r in board["rows"] if r["participant_code"] == code)


@pytest.mark.clock
def test_board_counts_days_weeks_and_flags_from_hand_built_data(
    client: TestClient, engine: Engine, world: World
) -> None:
    # Started 17 days ago: today is day 4 of week 3 (rule: 10 minutes a day, 5 days a week).
    c = make_eight_week_group(engine, world, started_days_ago=17)
    start = c.group.start_date
    pid = c.group.programme_id
    with open_session(engine, write=True) as session:
        c1, c2 = c.enrolments["C1"], c.enrolments["C2"]
        # C1: week 1 five practice days (target met), week 2 three, week 3: two days
        # of 12 minutes, one of 4 minutes (short), and ratings only on day 15 for C2.
        for offset in range(5):
            log_practice(session, c1, pid, start + timedelta(days=offset), 10)
        for offset in (7, 8, 9):
            log_practice(session, c1, pid, start + timedelta(days=offset), 20)
        log_practice(session, c1, pid, start + timedelta(days=14), 12)
        log_practice(session, c1, pid, start + timedelta(days=15), 6)
        log_practice(session, c1, pid, start + timedelta(days=15), 6)  # two short ones add up
        log_practice(session, c1, pid, start + timedelta(days=16), 4)
        # C2: practised once, on day 2; pain rising across weeks 1-3 (3 -> 5 -> 7).
        log_practice(session, c2, pid, start + timedelta(days=1), 15)
        rate(session, c2, start + timedelta(days=2), pain_intensity=3)
        rate(session, c2, start + timedelta(days=9), pain_intensity=4)
        rate(session, c2, start + timedelta(days=10), pain_intensity=6)
        rate(session, c2, start + timedelta(days=15), pain_intensity=7)
        # C3: nothing at all.
        session.commit()
    login(client, "fa@one.example")
    board = client.get("/api/v1/groups/GRP-C/board").json()
    assert board["week"] == 3
    assert board["days"][0] == (start + timedelta(days=14)).isoformat()

    c1_row = _row(board, "P-C1")
    assert c1_row["days"] == [
        "practised",
        "practised",
        "short",
        "nothing",  # today, nothing yet
        "future",
        "future",
        "future",
    ]
    assert [w["practice_days"] for w in c1_row["weeks"][:3]] == [5, 3, 2]
    assert [w["met"] for w in c1_row["weeks"][:3]] == [True, False, False]
    assert c1_row["weeks_met"] == 1
    assert c1_row["minutes_this_week"] == 12 + 12 + 4
    assert c1_row["last_activity"] == (start + timedelta(days=16)).isoformat()

    c2_row = _row(board, "P-C2")
    assert c2_row["days"][1] == "rated"  # day 15: ratings only
    assert c2_row["last_activity"] == (start + timedelta(days=15)).isoformat()

    flags = {(f["participant_code"], f["kind"]): f for f in board["flags"]}
    assert set(flags) == {
        ("P-C2", "no_practice"),
        ("P-C2", "pain_rising"),
        ("P-C3", "no_practice"),
    }
    assert flags[("P-C2", "no_practice")]["text"] == "No practice for 16 days"
    assert "3.0 → 5.0 → 7.0" in flags[("P-C2", "pain_rising")]["text"]
    assert flags[("P-C3", "no_practice")]["text"].startswith("No practice yet")
    assert flags[("P-C2", "pain_rising")]["link"] == "/groups/GRP-C/patients/P-C2"

    # The page shows the same things in words, with the rule stated.
    page = client.get("/groups/GRP-C")
    text = visible_text(page.text)
    assert "A practice day is a day with at least 10 minutes of practice" in text
    assert "No practice for 16 days" in text
    assert 'href="/groups/GRP-C/patients/P-C2"' in page.text
    assert "practice day" in text and "ratings only" in text  # not colour alone


def test_pain_rising_needs_three_consecutive_rising_weeks() -> None:
    assert engagement.pain_rising({1: 3, 2: 5, 3: 7}, 3) == [3, 5, 7]
    assert engagement.pain_rising({1: 3, 2: 5, 3: 5}, 3) is None
    assert engagement.pain_rising({1: 3, 3: 5, 4: 7}, 4) is None  # week 2 missing
    assert engagement.pain_rising({1: 3, 2: 5}, 2) is None
    assert engagement.pain_rising({2: 1, 3: 2, 4: 3, 5: 1}, 5) is None  # fell last week


def test_flags_sort_safety_first() -> None:
    flags = [
        Flag("no_practice", Severity.attention, "No practice for 6 days", 2, "/x"),
        Flag("questionnaire_overdue", Severity.info, "Questionnaire overdue", 1, "/y"),
        Flag("safety", Severity.safety, "Answered above 0 on PHQ-9 item 9", 3, "/z"),
    ]
    assert [f.kind for f in engagement.sort_flags(flags)] == [
        "safety",
        "no_practice",
        "questionnaire_overdue",
    ]


@pytest.mark.clock
def test_adherence_rule_is_applied_identically_on_board_prep_and_patient_page(
    client: TestClient, engine: Engine, world: World
) -> None:
    # Started 14 days ago: session 3 is today; prep looks at week 2 (days 7-13).
    c = make_eight_week_group(engine, world, started_days_ago=14)
    start, pid = c.group.start_date, c.group.programme_id
    with open_session(engine, write=True) as session:
        for offset in (7, 8, 9):  # 3 days of 6 minutes
            log_practice(session, c.enrolments["C1"], pid, start + timedelta(days=offset), 6)
        for offset in (7, 8):  # 2 days of 12 minutes
            log_practice(session, c.enrolments["C2"], pid, start + timedelta(days=offset), 12)
        session.commit()
    login(client, "fa@one.example")

    def counts() -> tuple[list[int], str, str]:
        board = client.get("/api/v1/groups/GRP-C/board").json()
        week2 = [_row(board, f"P-C{n}")["weeks"][1] for n in (1, 2, 3)]
        prep = visible_text(client.get("/groups/GRP-C/sessions/3/prep").text)
        detail = visible_text(client.get("/groups/GRP-C/patients/P-C1").text)
        return [w["practice_days"] for w in week2], prep, detail

    days, prep, detail = counts()
    assert days == [0, 2, 0]  # 6 minutes is under the 10-minute day
    assert "2 of 3 practised at least once" in prep
    assert "0 of 3 met the target (5 practice days)" in prep
    assert "at least 10 minutes" in prep and "at least 10 minutes" in detail

    # An admin changes the definition: 5 minutes, 2 days a week. Every page follows.
    login(client, "admin@one.example")
    url = "/programmes/compassion-for-pain/adherence"
    response = submit(
        client, url, url, {"minutes_per_day": "5", "days_per_week": "2", "completer_weeks": "4"}
    )
    assert response.status_code == 200 and "Saved." in response.text
    login(client, "fa@one.example")
    days, prep, detail = counts()
    assert days == [3, 2, 0]
    assert "2 of 3 met the target (2 practice days)" in prep
    for text in (prep, detail, visible_text(client.get("/groups/GRP-C").text)):
        assert "at least 5 minutes of practice" in text and "at least 2 practice days" in text
        assert "at least 4 of the 8 weeks" in text
    with open_session(engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "adherence_rule_changed")
        ).one()
    assert "at least 5 minutes" in event.detail["after"]


def test_only_admins_change_the_adherence_definition_and_bad_numbers_change_nothing(
    client: TestClient, engine: Engine, world: World
) -> None:
    url = "/programmes/test-programme/adherence"
    for name in ("fa@one.example", "clinician@one.example"):
        login(client, name)
        assert client.get(url).status_code == 403
    login(client, "admin@one.example")
    response = submit(
        client, url, url, {"minutes_per_day": "ten", "days_per_week": "9", "completer_weeks": "1"}
    )
    assert response.status_code == 422 and 'id="minutes_per_day-error"' in response.text
    response = submit(
        client, url, url, {"minutes_per_day": "10", "days_per_week": "9", "completer_weeks": "1"}
    )
    assert response.status_code == 422 and 'id="days_per_week-error"' in response.text
    assert "at least 5 practice days" in visible_text(client.get(url).text)


@pytest.mark.clock
def test_session_prep_digest(client: TestClient, engine: Engine, world: World) -> None:
    c = make_eight_week_group(engine, world, started_days_ago=14)
    start, pid, ex = c.group.start_date, c.group.programme_id, c.exercise_id
    from datetime import UTC, datetime, time

    in_week_2 = datetime.combine(start + timedelta(days=9), time(12), tzinfo=UTC)
    with open_session(engine, write=True) as session:
        c1, c2 = c.enrolments["C1"], c.enrolments["C2"]
        log_practice(
            session,
            c1,
            pid,
            start + timedelta(days=8),
            10,
            exercise_id=ex,
            before={"pain_intensity": 6, "pain_distress": 6, "mood": 4},
            after={"pain_intensity": 4, "pain_distress": 3, "mood": 6},
        )
        log_practice(
            session,
            c2,
            pid,
            start + timedelta(days=10),
            10,
            exercise_id=ex,
            before={"pain_intensity": 5, "pain_distress": 5, "mood": 5},
            after={"pain_intensity": 5, "pain_distress": 4, "mood": 5},
        )
        rate(session, c1, start + timedelta(days=2), pain_intensity=8, mood=3)
        write_reflection(
            session, c1, "I was kinder to myself.", week=2, share=True, created_at=in_week_2
        )
        write_reflection(
            session,
            c2,
            "Breathing helped at night.",
            week=2,
            share=True,
            share_name=True,
            created_at=in_week_2,
        )
        write_reflection(session, c1, "Private thought.", week=2, created_at=in_week_2)
        session.commit()
    with open_session(engine, write=True) as session:
        from app.groups import service as groups_service

        groups_service.set_contact(
            session, enrolment=c.enrolments["C1"], name="Alice Secret", email="", phone=""
        )
        groups_service.set_contact(
            session, enrolment=c.enrolments["C2"], name="Bea", email="", phone=""
        )
        session.commit()
    login(client, "fa@one.example")
    text = visible_text(client.get("/groups/GRP-C/sessions/3/prep").text)
    assert "2 of 3 practised at least once" in text
    # Ratings this week: before and after ratings of both practices (pain 6,4,5,5 -> 5.0).
    assert "Pain 5.0 8.0" in text
    # The exercise: n=2, pain -1.0 ((-2 + 0)/2), distress -2.0, mood +1.0.
    assert "2 -1.0 -2.0 +1.0" in text
    assert "I was kinder to myself." in text and "Breathing helped at night." in text
    assert "Private thought." not in text
    assert "Alice Secret" not in text  # C1 did not allow their name
    assert "Bea" in text and "Shared anonymously" in text


@pytest.mark.clock
def test_next_session_prep_redirects_to_the_upcoming_session(
    client: TestClient, engine: Engine, world: World
) -> None:
    make_eight_week_group(engine, world, started_days_ago=20)
    login(client, "fa@one.example")
    response = client.get("/groups/GRP-C/prep", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/groups/GRP-C/sessions/4/prep"


def test_patient_detail_shows_practice_ratings_attendance_and_shared_words(
    client: TestClient, engine: Engine, world: World
) -> None:
    c = make_eight_week_group(engine, world, started_days_ago=10)
    start, pid = c.group.start_date, c.group.programme_id
    with open_session(engine, write=True) as session:
        log_practice(session, c.enrolments["C1"], pid, start, 25)
        rate(session, c.enrolments["C1"], start, pain_intensity=6, mood=4)
        write_reflection(session, c.enrolments["C1"], "Shared words.", share=True)
        write_reflection(session, c.enrolments["C1"], "My own words.")
        session.commit()
    login(client, "fa@one.example")
    c1 = c.enrolments["C1"].id
    submit(
        client,
        "/groups/GRP-C/sessions/1/register",
        "/groups/GRP-C/sessions/1/register",
        {f"attendance-{c1}": "present"},
    )
    text = visible_text(client.get("/groups/GRP-C/patients/P-C1").text)
    assert "1 1 ✓ met" not in text  # one practice day does not meet a 5-day target
    assert "1 1 not met 25 6.0 – 4.0 present" in text
    assert "Shared words." in text and "My own words." not in text
