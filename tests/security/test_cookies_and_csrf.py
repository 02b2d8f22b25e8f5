"""The session cookie is __Host- prefixed over HTTPS, and the sign-in form's CSRF token is
bound to this browser's pre-session cookie (one browser's token is worthless in another)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, World
from tests.pages import hidden_fields, sign_in_through_page


def test_over_https_the_session_cookie_is_host_prefixed(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post("/api/v1/auth/login", json={"login": "P-A1", "password": PASSWORD})
        assert response.status_code == 200
        cookie = next(c for c in response.headers.get_list("set-cookie") if "tend_session=" in c)
        assert cookie.startswith("__Host-tend_session=")
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert client.get("/api/v1/auth/me").status_code == 200
        out = client.post("/api/v1/auth/logout")
        assert "__Host-tend_session=" in out.headers["set-cookie"]
        assert client.get("/api/v1/auth/me").status_code == 401


def test_over_plain_http_in_development_it_is_not(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/auth/login", json={"login": "P-A1", "password": PASSWORD})
    assert "tend_session=" in response.headers["set-cookie"]
    assert "__Host-" not in response.headers["set-cookie"]


def test_the_sign_in_token_is_bound_to_the_browsers_pre_session_cookie(
    app: FastAPI, world: World
) -> None:
    with TestClient(app) as attacker, TestClient(app) as victim:
        token = hidden_fields(attacker.get("/login").text)["csrf_token"]
        victim.get("/login")  # the victim's browser has its own pre-session cookie
        forged = victim.post(
            "/login", data={"csrf_token": token, "login": "P-A1", "password": PASSWORD}
        )
        assert forged.status_code == 403 and "reload the page" in forged.text.lower()
        # The same form from the victim's own page signs in.
        assert sign_in_through_page(victim, "P-A1", PASSWORD).status_code == 303
