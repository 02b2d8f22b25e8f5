"""Safety flags reach staff: a push through the reminders' deliveries (to the local push
endpoint) and an email (to a real SMTP server), with no patient words in either; a flag still
open after the clinic's response time is escalated to every clinician and shown as overdue."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app import clock
from app.audit.models import AuditEvent
from app.config import Settings
from app.db import open_session
from app.outcomes.models import SafetyFlag
from app.reminders import scheduler
from tests.factories import World, login
from tests.mail_server import SmtpTestServer
from tests.pages import visible_text
from tests.reminders.push_endpoint import BrowserSubscription, push_endpoint

PHQ9 = "/api/v1/questionnaires/phq9/baseline"
PATIENT_WORDS = ("q9", "Nearly", "harm", "dead", "PHQ", "P-A1", "answered")

# The groups start in three days: the baseline questionnaires are open.
pytestmark = pytest.mark.world(started_days_ago=-3)


def _subscribe(client: TestClient, login_name: str, device: BrowserSubscription) -> None:
    client.cookies.clear()
    login(client, login_name)
    response = client.post("/api/v1/reminders/subscriptions", json=device.to_json())
    assert response.status_code == 201, response.text


def _raise_flag(client: TestClient) -> None:
    client.cookies.clear()
    login(client, "P-A1")
    answers = {f"q{n}": 1 for n in range(1, 10)} | {"q9": 3}
    assert client.post(PHQ9 + "/submit", json={"answers": answers}).status_code == 201
    client.cookies.clear()


def _flag(engine: Engine) -> SafetyFlag:
    with open_session(engine) as session:
        return session.exec(select(SafetyFlag)).one()


def _actions(engine: Engine) -> list[str]:
    with open_session(engine) as session:
        return [e.action for e in session.exec(select(AuditEvent)).all()]


def test_a_flag_is_pushed_and_emailed_to_staff_then_escalated_when_overdue(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    smtp_server: SmtpTestServer,
    world: World,
) -> None:
    settings = settings.model_copy(
        update={"smtp_url": smtp_server.url, "smtp_ca_file": smtp_server.ca_file}
    )
    with push_endpoint() as endpoint:
        facilitator = BrowserSubscription.new(endpoint.url("facilitator-a"))
        other_group = BrowserSubscription.new(endpoint.url("facilitator-b"))
        clinician = BrowserSubscription.new(endpoint.url("clinician"))
        _subscribe(client, "fa@one.example", facilitator)
        _subscribe(client, "fb@one.example", other_group)
        _subscribe(client, "clinician@one.example", clinician)
        _raise_flag(client)
        flag = _flag(engine)
        assert flag.respond_by is not None

        summary = scheduler.run_pass(engine, settings, holder="one", now=clock.now())
        assert (summary.safety_alerts, summary.sent) == (1, 2)
        expected = {
            "title": "Tend: safety",
            "body": "A safety answer needs follow-up in GRP-A",
            "url": f"/outcomes/safety-flags/{flag.id}",
            "tag": f"safety-{flag.id}",
        }
        [to_facilitator] = endpoint.to("facilitator-a")
        assert facilitator.decrypt(to_facilitator.body) == expected
        [to_clinician] = endpoint.to("clinician")
        assert clinician.decrypt(to_clinician.body) == expected
        assert endpoint.to("facilitator-b") == []  # not their group
        emails = smtp_server.wait_for(2)
        assert sorted(r for m in emails for r in m.recipients) == [
            "clinician@one.example",
            "fa@one.example",
        ]
        for message in emails:
            assert f"/outcomes/safety-flags/{flag.id}" in message.body
            text = message.body + str(message.email["Subject"])
            assert not any(word in text for word in PATIENT_WORDS), text

        # Told once: another pass sends nothing more.
        scheduler.run_pass(engine, settings, holder="one", now=clock.now() + timedelta(minutes=1))
        assert len(endpoint.received) == 2 and len(smtp_server.messages) == 2

        # Past the response time (1 working day), still open: every clinician is told.
        late = flag.respond_by + timedelta(minutes=1)
        summary = scheduler.run_pass(engine, settings, holder="one", now=late)
        assert (summary.safety_alerts, summary.sent) == (1, 1)
        [_, escalation] = endpoint.to("clinician")
        assert clinician.decrypt(escalation.body)["body"] == (
            "A safety answer in GRP-A is past its response time"
        )
        assert len(endpoint.to("facilitator-a")) == 1
        [*_, escalated] = smtp_server.wait_for(3)
        assert escalated.recipients == ["clinician@one.example"]
    assert _flag(engine).escalated_at == late
    actions = _actions(engine)
    assert "alert_safety_flag" in actions and "escalate_safety_flag" in actions

    # Every staff page shows it overdue until someone acknowledges it.
    clock.set_now(late)
    login(client, "fa@one.example")
    for page in ("/groups", "/outcomes", f"/outcomes/safety-flags/{flag.id}", "/codebook"):
        text = visible_text(client.get(page).text)
        assert "Overdue: 1 safety flag is past its response time" in text, page
    client.cookies.clear()
    login(client, "fb@one.example")  # not their group: not their flag
    assert "Overdue" not in visible_text(client.get("/groups").text)


def test_without_smtp_the_push_still_goes_and_the_flag_counts_as_alerted(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("facilitator-a"))
        _subscribe(client, "fa@one.example", device)
        _raise_flag(client)
        summary = scheduler.run_pass(engine, settings, holder="one", now=clock.now())
        assert (summary.safety_alerts, summary.sent) == (1, 1)
    assert _flag(engine).alerted_at is not None


def test_an_email_that_fails_is_tried_again_without_a_second_push(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    smtp_server: SmtpTestServer,
    world: World,
) -> None:
    refused = settings.model_copy(update={"smtp_url": smtp_server.url})  # certificate untrusted
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("facilitator-a"))
        _subscribe(client, "fa@one.example", device)
        _raise_flag(client)
        assert scheduler.run_pass(engine, refused, holder="one", now=clock.now()).safety_alerts == 0
        assert _flag(engine).alerted_at is None
        working = refused.model_copy(update={"smtp_ca_file": smtp_server.ca_file})
        later = clock.now() + timedelta(minutes=1)
        assert scheduler.run_pass(engine, working, holder="one", now=later).safety_alerts == 1
        assert len(endpoint.to("facilitator-a")) == 1
    assert len(smtp_server.wait_for(2)) == 2
