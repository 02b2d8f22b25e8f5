"""A reminder, sent by the scheduler outside any request, is worded in the patient's language."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.clinics.models import User
from app.config import Settings
from app.db import open_session, utcnow
from app.reminders import scheduler
from tests.factories import World, login
from tests.reminders.push_endpoint import BrowserSubscription, push_endpoint

pytestmark = pytest.mark.clock  # reminders are due at times of day


def test_a_patient_who_chose_welsh_gets_their_reminder_in_welsh(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    with open_session(engine, write=True) as session:
        patient = session.exec(select(User).where(User.login == "P-A1")).one()
        patient.language = "cy"
        session.add(patient)
        session.commit()
    login(client, "P-A1")
    at = (utcnow() + timedelta(minutes=5)).astimezone(ZoneInfo("Europe/London"))
    with push_endpoint() as endpoint:
        device = BrowserSubscription.new(endpoint.url("phone-1"))
        subscribed = client.post("/api/v1/reminders/subscriptions", json=device.to_json())
        assert subscribed.status_code in (200, 201), subscribed.text
        chosen = client.put(
            "/api/v1/reminders/preferences",
            json={
                "practice": True,
                "time_of_day": at.strftime("%H:%M"),
                "days": list(range(7)),
                "timezone": "Europe/London",
            },
        )
        assert chosen.status_code == 200, chosen.text

        scheduler.run_pass(engine, settings, holder="one", now=utcnow() + timedelta(minutes=30))

        [message] = endpoint.to("phone-1")
        assert device.decrypt(message.body)["body"] == "Amser am ychydig funudau tawel gyda Tend."
