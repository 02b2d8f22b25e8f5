"""Signing out tells the browser to forget this person: Clear-Site-Data on both sign-outs,
and pages carry the opaque key the service worker files offline copies under."""

from fastapi.testclient import TestClient

from tests.factories import World, login
from tests.pages import submit


def test_api_sign_out_clears_the_sites_caches_and_storage(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    assert client.get("/api/v1/auth/me").status_code == 401


def test_page_sign_out_clears_them_unless_unsent_practice_is_kept(
    client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    response = submit(client, "/today", "/logout", {})
    assert response.status_code == 303
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    # The patient chose to keep practice that has not been sent: storage (the outbox) stays.
    login(client, "P-A1")
    response = submit(client, "/today", "/logout", {"keep_unsent": "1"})
    assert response.headers["clear-site-data"] == '"cache"'


def test_pages_name_the_signed_in_person_by_an_opaque_key(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    first = client.get("/today").headers["x-tend-person"]
    assert first == client.get("/today").headers["x-tend-person"]
    assert "P-A1" not in first and str(world.users["patient_a1"].id) != first
    client.post("/api/v1/auth/logout")
    login(client, "P-A2")
    assert client.get("/today").headers["x-tend-person"] != first
    client.post("/api/v1/auth/logout")
    assert "x-tend-person" not in client.get("/login").headers
