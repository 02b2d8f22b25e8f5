"""The demo clinic has an information sheet, and every demo patient has consented to it."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories import login
from tests.pages import visible_text
from tests.test_demo import seed


def test_demo_patients_have_consented_to_the_demo_sheet(engine: Engine, client: TestClient) -> None:
    seed(engine)
    login(client, "P-A01", "demo-password")
    assert client.get("/today", follow_redirects=False).status_code == 200  # not asked again
    consents = client.get("/api/v1/me/export").json()["consents"]
    assert [c["version"] for c in consents] == [1]
    assert consents[0]["statements"][0]["agreed"] is True

    client.cookies.clear()
    login(client, "facilitator@demo.example", "demo-password")
    board = client.get("/api/v1/groups/DEMO-A/board").json()
    assert {row["consent"] for row in board["rows"]} == {"given"}
    client.cookies.clear()
    login(client, "admin@demo.example", "demo-password")
    assert "What Tend is" in visible_text(client.get("/admin/consent").text)
