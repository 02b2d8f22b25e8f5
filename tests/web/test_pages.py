"""Plumbing every visitor meets: health, sign-in form errors, CSRF, headers, PWA files."""

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import PASSWORD, World
from tests.pages import hidden_fields, sign_in_through_page, visible_text


def test_health_says_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_says_503_when_the_database_is_unreachable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_a_wrong_password_on_the_page_keeps_the_login_and_says_why(
    client: TestClient, world: World
) -> None:
    response = sign_in_through_page(client, "fa@one.example", "wrong-password")

    assert response.status_code == 401
    assert 'value="fa@one.example"' in response.text
    assert "do not match" in visible_text(response.text)
    assert "wrong-password" not in response.text


def test_a_form_without_its_token_is_refused(client: TestClient, world: World) -> None:
    response = client.post("/login", data={"login": "fa@one.example", "password": PASSWORD})
    assert response.status_code == 403


def test_a_cross_site_post_is_refused(client: TestClient, world: World) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={**hidden_fields(page.text), "login": "fa@one.example", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


def test_signed_in_pages_are_not_cached_and_carry_a_strict_policy(
    client: TestClient, world: World
) -> None:
    sign_in_through_page(client, "P-A1", PASSWORD)
    response = client.get("/today")

    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_sign_in_only_redirects_to_local_pages(client: TestClient, world: World) -> None:
    page = client.get("/login?next=https://evil.example/")
    assert "evil.example" not in page.text


def test_the_app_is_installable_and_has_a_root_service_worker(client: TestClient) -> None:
    manifest = client.get("/manifest.webmanifest")
    worker = client.get("/sw.js")

    assert manifest.headers["content-type"].startswith("application/manifest+json")
    sizes = {icon["sizes"] for icon in manifest.json()["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert manifest.json()["display"] == "standalone"
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
