"""No stranger can lock an account: sign-in failures count per account *and* address, the
account-wide limit only slows, and a browser that signed in before is let through."""

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.security import dependencies
from tests.factories import PASSWORD, World

CLINICIAN = "clinician@one.example"
SLOWDOWN = 0.4


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    # The defaults (10 per account and address, slowdown after 10), with a short delay.
    return create_app(settings.model_copy(update={"login_slowdown_seconds": SLOWDOWN}))


@pytest.fixture
def stranger(app: FastAPI, world: World) -> Iterator[TestClient]:
    with TestClient(app, client=("203.0.113.9", 40000)) as client:
        yield client


def _guess(client: TestClient, login: str = CLINICIAN) -> int:
    response = client.post("/api/v1/auth/login", json={"login": login, "password": "wrong"})
    return response.status_code


def _sign_in(client: TestClient, login: str = CLINICIAN) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    return response.status_code, time.perf_counter() - started


def test_a_strangers_guesses_do_not_lock_the_clinician_out(
    app: FastAPI, stranger: TestClient
) -> None:
    statuses = [_guess(stranger) for _ in range(15)]
    assert statuses == [401] * 10 + [429] * 5
    with TestClient(app, client=("198.51.100.7", 40000)) as clinic_pc:
        status, _ = _sign_in(clinic_pc)
    assert status == 200  # slowed down, perhaps, but let in


def test_the_strangers_address_stays_refused_while_it_keeps_trying(
    stranger: TestClient,
) -> None:
    for _ in range(10):
        _guess(stranger)
    refused = stranger.post("/api/v1/auth/login", json={"login": CLINICIAN, "password": "x"})
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert wait > 0 and "try again in" in refused.json()["detail"]
    # Even the right password is refused from there: guessing gains nothing.
    assert _sign_in(stranger)[0] == 429


def test_refused_attempts_count_so_polling_keeps_the_guesser_out(
    settings: Settings, world: World
) -> None:
    strict = settings.model_copy(update={"login_limit_per_account": 3, "login_limit_seconds": 60})
    app = create_app(strict)
    with TestClient(app, client=("203.0.113.9", 40000)) as stranger:
        from app import clock

        start = clock.now()
        with clock.fixed_at(start):
            assert [_guess(stranger) for _ in range(5)] == [401, 401, 401, 429, 429]
        # Two windows later an attacker who stopped would be let in again; one who kept
        # polling through the window (refused attempts counted) is still out.
        from datetime import timedelta

        for seconds in range(5, 60, 5):
            with clock.fixed_at(start + timedelta(seconds=seconds)):
                _guess(stranger)
        with clock.fixed_at(start + timedelta(seconds=65)):
            assert _guess(stranger) == 429


def test_the_account_wide_limit_slows_strangers_but_not_a_known_browser(
    app: FastAPI, stranger: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []
    real_sleep = dependencies.sleep
    monkeypatch.setattr(dependencies, "sleep", lambda s: (delays.append(s), real_sleep(s)))
    with TestClient(app, client=("198.51.100.7", 40000)) as own_browser:
        assert _sign_in(own_browser)[0] == 200  # it is remembered from now on
        own_browser.post("/api/v1/auth/logout")
        for _ in range(10):
            _guess(stranger)
        assert delays  # the stranger's last guesses were already slowed
        delays.clear()
        with TestClient(app, client=("192.0.2.50", 40000)) as new_browser:
            status, took = _sign_in(new_browser)
        assert status == 200 and took >= SLOWDOWN and delays == [SLOWDOWN]
        assert _sign_in(own_browser)[0] == 200 and delays == [SLOWDOWN]  # not slowed


def test_a_remembered_browser_behind_the_strangers_address_still_signs_in(
    app: FastAPI, world: World
) -> None:
    with TestClient(app, client=("203.0.113.9", 40000)) as own_browser:
        assert _sign_in(own_browser)[0] == 200
        own_browser.post("/api/v1/auth/logout")
        with TestClient(app, client=("203.0.113.9", 40001)) as stranger:
            assert [_guess(stranger) for _ in range(11)][-1] == 429
        assert _sign_in(own_browser)[0] == 200


def test_the_limit_key_uses_sign_ins_own_normalisation(stranger: TestClient) -> None:
    # " p-a1 " and "P-A1" are the same account to sign-in, so they share one count.
    for variant in ("P-A1", " p-a1 ", "p-A1") * 4:
        status = _guess(stranger, variant)
    assert status == 429
