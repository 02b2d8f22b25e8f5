"""Reminders reach a device through a real (local) push endpoint: encrypted, signed, sent once,
retried when the push service is busy, and forgotten when it says the subscription is gone."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.config import Settings
from app.db import open_session, utcnow
from app.reminders import scheduler
from app.reminders import service as reminders_service
from app.reminders.models import (
    DeliveryStatus,
    PushSubscription,
    ReminderDelivery,
    ReminderPreference,
)
from tests.clock import child_environment
from tests.factories import World, login
from tests.reminders.push_endpoint import BrowserSubscription, push_endpoint, verify_vapid

# Reminders are due at times of day: every test runs at each instant of tests/clock.py.
pytestmark = pytest.mark.clock

LONDON = ZoneInfo("Europe/London")
GENTLE = {
    "title": "Tend",
    "body": "Time for a few quiet minutes with Tend.",
    "url": "/today",
    "tag": "practice",
}


def _soon() -> tuple[str, datetime]:
    """A local time a few minutes from now, and an instant by which it has passed."""
    at = (utcnow() + timedelta(minutes=5)).astimezone(LONDON)
    return at.strftime("%H:%M"), utcnow() + timedelta(minutes=30)


def _a_local_day_after(instant: datetime) -> datetime:
    """The same wall-clock time a day later in London (23 or 25 hours across a clock change)."""
    return instant.astimezone(LONDON) + timedelta(days=1)


def _choose_practice(client: TestClient, at: str) -> None:
    response = client.put(
        "/api/v1/reminders/preferences",
        json={
            "practice": True,
            "time_of_day": at,
            "days": list(range(7)),
            "timezone": "Europe/London",
        },
    )
    assert response.status_code == 200, response.text


def _subscribe(client: TestClient, device: BrowserSubscription) -> None:
    response = client.post("/api/v1/reminders/subscriptions", json=device.to_json())
    assert response.status_code in (200, 201), response.text


def _deliveries(engine: Engine) -> list[ReminderDelivery]:
    with open_session(engine) as session:
        return list(session.exec(select(ReminderDelivery)).all())


def test_a_reminder_arrives_encrypted_signed_and_only_once(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("phone-1"))
        _subscribe(client, device)
        at, later = _soon()
        _choose_practice(client, at)
        public_key = client.get("/api/v1/reminders/vapid-public-key").json()["public_key"]

        summary = scheduler.run_pass(engine, settings, holder="one", now=later)
        assert (summary.planned, summary.sent) == (1, 1)
        [message] = endpoint.to("phone-1")
        assert message.headers["content-encoding"] == "aes128gcm"
        assert int(message.headers["ttl"]) > 0
        assert device.decrypt(message.body) == GENTLE
        claims = verify_vapid(
            message.headers["authorization"], public_key=public_key, audience=endpoint.base_url
        )
        assert claims["sub"] == "mailto:reminders@clinic.example"

        # Again, and again from another scheduler: the same reminder is never sent twice.
        scheduler.run_pass(engine, settings, holder="one", now=later + timedelta(minutes=1))
        scheduler.release(engine, holder="one")
        scheduler.run_pass(engine, settings, holder="two", now=later + timedelta(minutes=2))
        assert len(endpoint.to("phone-1")) == 1
    [delivery] = _deliveries(engine)
    assert delivery.status == DeliveryStatus.sent


def test_nothing_is_sent_until_the_patient_chooses(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    assert client.get("/api/v1/reminders/preferences").json()["chosen"] is False
    with push_endpoint() as endpoint:
        _subscribe(client, BrowserSubscription.new(endpoint.url("phone-1")))
        summary = scheduler.run_pass(
            engine, settings, holder="one", now=utcnow() + timedelta(days=2)
        )
        assert summary.sent == 0 and endpoint.received == []


# Its passes are at instants of its own; the choice is made before them (January 2027).
@pytest.mark.clock("weekday_noon")
def test_the_autumn_night_sends_a_repeated_time_once(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    """01:35 happens twice on 31 October 2027 in London; passes look back an hour, so a pass
    after the second 01:35 sees it too. The device still gets one reminder that day.

    Corrected: it chose 01:35 on the wall clock's day, so on 31 October after 00:35 UTC (or any
    later day) the choice came after the first 01:35 and nothing was due."""
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        _subscribe(client, BrowserSubscription.new(endpoint.url("phone-1")))
        _choose_practice(client, "01:35")
        first, second = (datetime(2027, 10, 31, hour, 36, tzinfo=UTC) for hour in (0, 1))
        scheduler.run_pass(engine, settings, holder="one", now=first)  # 01:36 BST
        assert len(endpoint.to("phone-1")) == 1
        scheduler.run_pass(engine, settings, holder="one", now=second)  # 01:36 GMT
        assert len(endpoint.to("phone-1")) == 1


def test_a_paused_patient_gets_nothing_until_they_resume(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        endpoint.answers("phone-1", 503)  # the first try fails and waits to be retried
        _subscribe(client, BrowserSubscription.new(endpoint.url("phone-1")))
        at, later = _soon()
        _choose_practice(client, at)
        assert scheduler.run_pass(engine, settings, holder="one", now=later).retrying == 1
        # As long after tomorrow's reminder as `later` is after today's. A local day after
        # `later` itself was wrong across a clock change: past 00:30 on 28 March it came an
        # hour late, beyond the passes' lookback, and at 01:30 BST on 31 October too early.
        due = later - timedelta(minutes=25)  # today's reminder (see _soon)
        tomorrow_later = _a_local_day_after(due) + timedelta(minutes=25)

        assert client.post("/api/v1/reminders/pause").json()["paused"] is True
        scheduler.run_pass(engine, settings, holder="one", now=later + timedelta(minutes=10))
        scheduler.run_pass(engine, settings, holder="one", now=tomorrow_later)
        assert len(endpoint.to("phone-1")) == 1  # only the failed first try

        assert client.post("/api/v1/reminders/resume").json()["paused"] is False
        # Resuming does not replay what waited while paused; the next one comes as usual.
        scheduler.run_pass(engine, settings, holder="one", now=later + timedelta(minutes=20))
        assert len(endpoint.to("phone-1")) == 1
        scheduler.run_pass(
            engine, settings, holder="one", now=tomorrow_later + timedelta(minutes=1)
        )
        assert len(endpoint.to("phone-1")) == 2


def test_an_expired_subscription_is_removed(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        endpoint.answers("old-phone", 410)
        endpoint.answers("lost-phone", 404)
        for name in ("old-phone", "lost-phone", "new-phone"):
            _subscribe(client, BrowserSubscription.new(endpoint.url(name)))
        at, later = _soon()
        _choose_practice(client, at)
        assert client.get("/api/v1/reminders/preferences").json()["devices"] == 3

        summary = scheduler.run_pass(engine, settings, holder="one", now=later)
        assert (summary.sent, summary.gone) == (1, 2)
    assert client.get("/api/v1/reminders/preferences").json()["devices"] == 1
    with open_session(engine) as session:
        endpoints = [s.endpoint for s in session.exec(select(PushSubscription)).all()]
    assert endpoints == [endpoint.url("new-phone")]


def test_a_busy_push_service_is_retried_with_backoff(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        endpoint.answers("phone-1", 503, 429)
        device = BrowserSubscription.new(endpoint.url("phone-1"))
        _subscribe(client, device)
        at, later = _soon()
        _choose_practice(client, at)

        assert scheduler.run_pass(engine, settings, holder="one", now=later).retrying == 1
        [delivery] = _deliveries(engine)
        assert delivery.status == DeliveryStatus.pending and delivery.attempts == 1
        first_wait = delivery.next_attempt_at - later
        assert timedelta(seconds=20) < first_wait <= timedelta(seconds=31)
        # Not before the backoff has passed.
        scheduler.run_pass(engine, settings, holder="one", now=later)
        assert len(endpoint.to("phone-1")) == 1

        retry_at = delivery.next_attempt_at + timedelta(seconds=1)
        assert scheduler.run_pass(engine, settings, holder="one", now=retry_at).retrying == 1
        [delivery] = _deliveries(engine)
        # 429 said Retry-After: 120, longer than the doubling would wait.
        assert delivery.next_attempt_at - retry_at > timedelta(seconds=100)

        last = delivery.next_attempt_at + timedelta(seconds=1)
        assert scheduler.run_pass(engine, settings, holder="one", now=last).sent == 1
        received = endpoint.to("phone-1")
        assert len(received) == 3
        assert device.decrypt(received[-1].body) == GENTLE
    [delivery] = _deliveries(engine)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.sent, 3)


def test_an_unreachable_push_service_is_retried_then_given_up(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        dead_url = endpoint.url("phone-1")
    # The server is gone: connections are refused.
    _subscribe(client, BrowserSubscription.new(dead_url))
    at, later = _soon()
    _choose_practice(client, at)
    now = later
    for _ in range(5):
        scheduler.run_pass(engine, settings, holder="one", now=now)
        [delivery] = _deliveries(engine)
        now = max(now, delivery.next_attempt_at) + timedelta(seconds=1)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.failed, 5)


def test_a_reminder_too_late_to_help_is_not_sent(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        endpoint.answers("phone-1", 503)
        _subscribe(client, BrowserSubscription.new(endpoint.url("phone-1")))
        at, later = _soon()
        _choose_practice(client, at)
        scheduler.run_pass(engine, settings, holder="one", now=later)
        scheduler.run_pass(engine, settings, holder="one", now=later + timedelta(hours=4))
        assert len(endpoint.to("phone-1")) == 1
    [delivery] = _deliveries(engine)
    assert delivery.status == DeliveryStatus.failed


def test_two_schedulers_running_at_once_send_each_reminder_once(
    client: TestClient, settings: Settings, world: World
) -> None:
    with push_endpoint() as endpoint:
        at, later = _soon()
        names = []
        for patient in ("P-A1", "P-A2", "P-B1", "P-B2"):
            login(client, patient)
            _choose_practice(client, at)
            for phone in ("a", "b"):
                names.append(f"{patient}-{phone}")
                _subscribe(client, BrowserSubscription.new(endpoint.url(names[-1])))
            client.post("/api/v1/auth/logout")

        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(holder: str) -> None:
            # Each scheduler has its own engine, as a separate worker process would.
            own_engine = scheduler_engine(settings)
            try:
                barrier.wait()
                for step in range(6):
                    scheduler.run_pass(
                        own_engine, settings, holder=holder, now=later + timedelta(seconds=step)
                    )
                    if step == 2:
                        scheduler.release(own_engine, holder=holder)  # let the other take over
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                own_engine.dispose()

        threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        counts = Counter(r.path.removeprefix("/push/") for r in endpoint.received)
    assert counts == Counter({name: 1 for name in names})


def test_racing_claims_without_the_lease_still_never_double_send(
    settings: Settings, client: TestClient, world: World
) -> None:
    """Belt and braces: even if two schedulers both believed they held the lease, each
    delivery flips from pending to sending for only one of them."""
    with push_endpoint() as endpoint:
        at, later = _soon()
        for patient in ("P-A1", "P-A2", "P-B1", "P-B2"):
            login(client, patient)
            _choose_practice(client, at)
            for phone in range(3):
                _subscribe(client, BrowserSubscription.new(endpoint.url(f"{patient}-{phone}")))
            client.post("/api/v1/auth/logout")
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def claim(index: int) -> None:
        own_engine = scheduler_engine(settings)
        try:
            barrier.wait()
            for _ in range(3):
                with open_session(own_engine, write=True) as session:
                    reminders_service.plan_deliveries(session, now=later)
                    session.commit()
                with open_session(own_engine, write=True) as session:
                    got = reminders_service.claim_due(session, now=later, limit=5)
                    session.commit()
                claimed[index] += [delivery.id for delivery in got]
        finally:
            own_engine.dispose()

    threads = [threading.Thread(target=claim, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = claimed[0] + claimed[1]
    assert len(everything) == len(set(everything)) == 12


def scheduler_engine(settings: Settings) -> Engine:
    from app.db import create_db_engine

    return create_db_engine(settings.resolved_database_url)


def test_a_device_subscribed_after_the_reminder_does_not_get_it(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    # Chosen for a minute ago: nothing is sent for a time that had passed when it was chosen.
    past = (utcnow() - timedelta(minutes=1)).astimezone(LONDON).strftime("%H:%M")
    with push_endpoint() as endpoint:
        _subscribe(client, BrowserSubscription.new(endpoint.url("phone-1")))
        _choose_practice(client, past)
        assert scheduler.run_pass(engine, settings, holder="one", now=utcnow()).planned == 0
        assert endpoint.received == []


def test_group_day_reminders_use_the_groups_meetings(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    from app.groups import service as groups_service

    meeting_at = utcnow().replace(microsecond=0) + timedelta(hours=3)
    with open_session(engine, write=True) as session:
        groups_service.add_session(session, group=world.group_a, number=1, starts_at=meeting_at)
        session.commit()
    login(client, "P-A1")
    late = (meeting_at + timedelta(hours=1)).astimezone(LONDON).strftime("%H:%M")
    response = client.put(
        "/api/v1/reminders/preferences",
        json={"group_session": True, "time_of_day": late, "days": [], "timezone": "Europe/London"},
    )
    assert response.status_code == 200, response.text
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("phone-1"))
        _subscribe(client, device)
        # Two hours before the meeting (earlier than the chosen time that day).
        scheduler.run_pass(engine, settings, holder="one", now=meeting_at - timedelta(minutes=90))
        [message] = endpoint.to("phone-1")
        assert device.decrypt(message.body)["body"] == "Your group meets today."
        scheduler.run_pass(engine, settings, holder="one", now=meeting_at - timedelta(minutes=30))
        assert len(endpoint.to("phone-1")) == 1


def test_the_lease_is_held_by_one_scheduler_at_a_time(engine: Engine) -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    ttl = timedelta(minutes=2)
    with open_session(engine, write=True) as session:
        assert reminders_service.take_lease(session, holder="a", now=now, ttl=ttl)
        assert not reminders_service.take_lease(session, holder="b", now=now, ttl=ttl)
        assert reminders_service.take_lease(session, holder="a", now=now, ttl=ttl)  # renew
        assert reminders_service.take_lease(session, holder="b", now=now + ttl * 2, ttl=ttl)
        session.commit()


def test_the_in_process_scheduler_sends_from_the_apps_lifespan(
    engine: Engine, settings: Settings, world: World
) -> None:
    """The embedded default: a background thread started with the app (never in tests unless
    asked, as here) finds the due reminder and sends it."""
    import time

    from app.main import create_app

    embedded = settings.model_copy(
        update={"environment": "development", "reminders_interval_seconds": 1}
    )
    assert embedded.runs_reminders_in_process and not settings.runs_reminders_in_process
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("phone-1"))
        with TestClient(create_app(settings)) as client:  # test settings: no scheduler
            login(client, "P-A1")
            _subscribe(client, device)
            a_minute_ago = (utcnow() - timedelta(minutes=1)).astimezone(LONDON)
            _choose_practice(client, a_minute_ago.strftime("%H:%M"))
        _backdate_choices(engine)
        with TestClient(create_app(embedded)):
            deadline = time.monotonic() + 15
            while not endpoint.to("phone-1") and time.monotonic() < deadline:
                time.sleep(0.2)
        [message] = endpoint.to("phone-1")
        assert device.decrypt(message.body) == GENTLE


def _backdate_choices(engine: Engine) -> None:
    """As if every patient had made their choice and subscribed yesterday."""
    with open_session(engine, write=True) as session:
        for preference in session.exec(select(ReminderPreference)).all():
            preference.updated_at = utcnow() - timedelta(days=1)
            session.add(preference)
        for subscription in session.exec(select(PushSubscription)).all():
            subscription.created_at = utcnow() - timedelta(days=1)
            session.add(subscription)
        session.commit()


@pytest.mark.slow
def test_two_scheduler_processes_send_each_reminder_once(
    client: TestClient, engine: Engine, settings: Settings, tmp_path, world: World
) -> None:  # type: ignore[no-untyped-def]
    """`tend reminders run --once` started twice at the same moment, as two processes."""
    import os
    import subprocess
    import sys

    with push_endpoint() as endpoint:
        a_minute_ago = (utcnow() - timedelta(minutes=1)).astimezone(LONDON).strftime("%H:%M")
        names = []
        for patient in ("P-A1", "P-A2", "P-B1"):
            login(client, patient)
            _choose_practice(client, a_minute_ago)
            for phone in ("a", "b"):
                names.append(f"{patient}-{phone}")
                _subscribe(client, BrowserSubscription.new(endpoint.url(names[-1])))
            client.post("/api/v1/auth/logout")
        _backdate_choices(engine)
        env = {
            **os.environ,
            "TEND_DATABASE_URL": settings.resolved_database_url,
            "TEND_DATA_DIR": str(tmp_path / "data"),
            "TEND_ENVIRONMENT": "test",
            "TEND_PUSH_ALLOW_TEST_ENDPOINTS": "true",
            "TEND_PUSH_CONTACT": "mailto:reminders@clinic.example",
            **child_environment(),  # the processes' clock is the test's fixed instant
        }
        command = [sys.executable, "-m", "app", "reminders", "run", "--once"]
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
        assert [process.returncode for process in processes] == [0, 0], outputs
        counts = Counter(r.path.removeprefix("/push/") for r in endpoint.received)
    assert counts == Counter({name: 1 for name in names}), outputs


# In week 1: the baseline questionnaires are open.
@pytest.mark.world(started_days_ago=2)
def test_a_due_questionnaire_is_reminded_of_once_without_health_data(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, "P-A1")
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("phone-1"))
        _subscribe(client, device)
        at, later = _soon()
        response = client.put(
            "/api/v1/reminders/preferences",
            json={"questionnaire": True, "time_of_day": at, "timezone": "Europe/London"},
        )
        assert response.status_code == 200, response.text

        scheduler.run_pass(engine, settings, holder="one", now=later)
        scheduler.run_pass(engine, settings, holder="one", now=later + timedelta(minutes=1))

        messages = [device.decrypt(m.body) for m in endpoint.to("phone-1")]
    keys = sorted(d.occurrence_key for d in _deliveries(engine))
    assert keys and all(key.startswith("questionnaire:") for key in keys)
    assert "questionnaire:phq9:baseline" in keys
    assert len(messages) == len(keys)  # one message per questionnaire, never repeated
    assert {m["url"] for m in messages} == {"/questionnaires"}
    assert all("PHQ" not in m["body"] and "pain" not in m["body"] for m in messages)
