"""Each clinic's own adherence rule, and the bad-day practice that counts whatever its length."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.practice import service as practice_service
from app.programme import service as programme_service
from tests.factories import World, login
from tests.groups.conftest import log_practice, make_eight_week_group
from tests.pages import submit, visible_text

RULE_URL = "/programmes/compassion-for-pain/adherence"


def _day_two(client: TestClient) -> dict[str, str]:
    login(client, "fa@one.example")
    board = client.get("/api/v1/groups/GRP-C/board").json()
    return {row["participant_code"]: row["days"][1] for row in board["rows"]}


def test_a_short_bad_day_practice_counts_unless_the_clinic_says_otherwise(
    client: TestClient, engine: Engine, world: World
) -> None:
    c = make_eight_week_group(engine, world, started_days_ago=3)
    with open_session(engine, write=True) as session:
        day = c.group.start_date + timedelta(days=1)
        log_practice(session, c.enrolments["C1"], c.group.programme_id, day, 5, kind="anytime")
        log_practice(session, c.enrolments["C2"], c.group.programme_id, day, 5, kind="own")
        session.commit()
    # By default a 5-minute bad-day practice makes a practice day; 5 minutes on one's own not.
    assert _day_two(client) == {"P-C1": "practised", "P-C2": "short", "P-C3": "nothing"}
    with open_session(engine) as session:
        totals = practice_service.practice_totals(
            session,
            group_ids=[c.group.id or 0],
            weeks=8,
            practice_day_minutes=10,
            bad_day_counts=True,
        )
    assert {e: t.practice_days for e, t in totals.items()} == {
        c.enrolments["C1"].id: 1,
        c.enrolments["C2"].id: 0,
    }

    login(client, "admin@one.example")
    page = visible_text(client.get(RULE_URL).text)
    assert "counts as a practice day whatever its length" in page
    response = submit(
        client,
        RULE_URL,
        RULE_URL,
        {"minutes_per_day": "10", "days_per_week": "5", "completer_weeks": "5"},
    )  # the bad-day box left unticked
    assert response.status_code == 200
    assert "A bad-day practice counts only by its minutes." in visible_text(response.text)
    assert _day_two(client)["P-C1"] == "short"


def test_an_admin_changes_only_their_own_clinics_rule_audited_there(
    client: TestClient, engine: Engine, world: World
) -> None:
    make_eight_week_group(engine, world, started_days_ago=3)
    login(client, "admin@one.example")
    response = submit(
        client,
        RULE_URL,
        RULE_URL,
        {"minutes_per_day": "5", "days_per_week": "2", "completer_weeks": "4"},
    )
    assert response.status_code == 200 and "Saved." in response.text
    with open_session(engine) as session:
        programme = programme_service.get_programme_by_key(session, "compassion-for-pain")
        mine = programme_service.adherence_rule(session, programme, clinic_id=world.clinic.id or 0)
        theirs = programme_service.adherence_rule(
            session, programme, clinic_id=world.other_clinic.id or 0
        )
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "adherence_rule_changed")
        ).one()
    assert (mine.minutes_per_day, mine.days_per_week, mine.bad_day_counts) == (5, 2, False)
    # The other clinic keeps the programme's rule, bad days counting.
    assert (theirs.minutes_per_day, theirs.days_per_week, theirs.bad_day_counts) == (10, 5, True)
    assert event.clinic_id == world.clinic.id
    assert "at least 5 minutes" in event.detail["after"]
