"""Web hardening: CSRF on the JSON API, security headers, no inline script, rate limits."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import open_session
from app.main import create_app
from app.practice.models import PracticeLog
from app.security import service as security_service
from app.security.models import RefusalCount
from app.security.service import Limit
from app.web.templating import TEMPLATES_DIR
from tests.factories import PASSWORD, World, login
from tests.pages import sign_in_through_page

PRACTICE = "/api/v1/practice-logs"


def _practice_body(client: TestClient) -> dict[str, object]:
    import uuid

    exercise = client.get("/api/v1/programme").json()["weeks"][0]["exercises"][0]["id"]
    return {
        "id": str(uuid.uuid4()),
        "exercise_id": exercise,
        "started_at": "2026-01-05T09:00:00+00:00",
        "timezone": "Europe/London",
        "local_date": "2026-01-05",
        "listened_seconds": 60,
        "completed": True,
    }


# --- CSRF on the JSON API -------------------------------------------------------------------


def _practice_logs_stored(engine: Engine) -> int:
    with open_session(engine) as session:
        return len(session.exec(select(PracticeLog.id)).all())


def test_unsafe_api_calls_need_the_sessions_csrf_header(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    token = client.headers.pop("X-CSRF-Token")
    body = _practice_body(client)

    missing = client.post(PRACTICE, json=body)
    wrong = client.post(PRACTICE, json=body, headers={"X-CSRF-Token": "0" * 64})
    assert missing.status_code == wrong.status_code == 403
    assert "X-CSRF-Token" in missing.json()["detail"]
    assert _practice_logs_stored(engine) == 0  # refused means nothing was stored

    right = client.post(PRACTICE, json=body, headers={"X-CSRF-Token": token})
    assert right.status_code == 201
    assert _practice_logs_stored(engine) == 1


def test_the_token_is_in_the_login_answer_and_in_every_pages_meta_tag(
    client: TestClient, world: World
) -> None:
    answer = client.post("/api/v1/auth/login", json={"login": "P-A1", "password": PASSWORD})
    page = client.get("/today")

    meta = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page.text)
    assert meta is not None
    assert meta.group(1) == answer.json()["csrf_token"]


def test_a_token_from_another_session_is_refused(
    app: object, client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    with TestClient(app) as other:  # type: ignore[arg-type]
        stolen = login(other, "P-A2").headers["X-CSRF-Token"]
    client.headers["X-CSRF-Token"] = stolen

    assert client.post(PRACTICE, json=_practice_body(client)).status_code == 403
    assert _practice_logs_stored(engine) == 0


def test_cross_site_posts_are_refused_even_with_the_token(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    response = client.post(
        PRACTICE, json=_practice_body(client), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert _practice_logs_stored(engine) == 0


def test_login_and_logout_need_no_token(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    client.headers.pop("X-CSRF-Token")
    assert client.post("/api/v1/auth/logout").status_code == 204


# --- Headers --------------------------------------------------------------------------------


def test_every_answer_carries_a_strict_policy(client: TestClient, world: World) -> None:
    for path in ("/", "/login", "/healthz", "/api/v1/auth/me", "/sw.js"):
        headers = client.get(path, follow_redirects=False).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in csp, (path, directive)
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in headers  # plain HTTP here


def test_signed_in_answers_are_never_cached(client: TestClient, world: World) -> None:
    login(client, "clinician@one.example")
    for path in ("/api/v1/auth/me", "/groups", "/groups/GRP-A", "/exports"):
        assert client.get(path).headers["cache-control"] == "no-store", path


def test_hsts_over_https_only(app: object, world: World) -> None:
    with TestClient(app, base_url="https://tend.example") as secure:  # type: ignore[arg-type]
        headers = secure.get("/login").headers
    assert headers["strict-transport-security"].startswith("max-age=63072000")


def test_no_template_has_inline_script_style_or_handlers() -> None:
    problems = []
    for template in sorted(Path(TEMPLATES_DIR).rglob("*.html")):
        text = template.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                problems.append(f"{template.name}: inline <script>")
        if re.search(r"<style\b", text):
            problems.append(f"{template.name}: inline <style>")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{template.name}: inline event handler")
        if re.search(r"\sstyle\s*=", text):
            problems.append(f"{template.name}: style attribute")
        if "javascript:" in text:
            problems.append(f"{template.name}: javascript: URL")
    assert problems == []


# --- Rate limits ----------------------------------------------------------------------------


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "login_limit_per_account": 3,
            "login_limit_per_address": 5,
            "invite_limit_per_code": 2,
        }
    )


def test_sign_in_is_limited_per_account_with_retry_after(
    strict_settings: Settings, world: World, engine: Engine
) -> None:
    app = create_app(strict_settings)
    with TestClient(app) as client:
        answers = [
            client.post("/api/v1/auth/login", json={"login": "P-A1", "password": "wrong-guess"})
            for _ in range(4)
        ]
        # The right password is refused too while the limit holds: guessing gains nothing.
        right = client.post("/api/v1/auth/login", json={"login": "p-a1", "password": PASSWORD})
    # Refused attempts count against the guessing address too; elsewhere nobody notices.
    with TestClient(app, client=("198.51.100.7", 40000)) as elsewhere:
        other = elsewhere.post("/api/v1/auth/login", json={"login": "P-A2", "password": PASSWORD})

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert int(answers[-1].headers["retry-after"]) > 0
    assert right.status_code == 429
    assert other.status_code == 200  # another account is not affected
    with open_session(engine) as session:  # anonymous: counted per address and hour
        [counter] = session.exec(select(RefusalCount).where(RefusalCount.status == 429)).all()
        assert counter.refusals == 2


def test_sign_in_is_limited_per_address(strict_settings: Settings, world: World) -> None:
    with TestClient(create_app(strict_settings)) as client:
        statuses = [
            client.post(
                "/api/v1/auth/login", json={"login": f"nobody{i}@x.example", "password": "x"}
            ).status_code
            for i in range(6)
        ]
    assert statuses == [401] * 5 + [429]


def test_the_sign_in_page_shows_the_limit_next_to_the_field(
    strict_settings: Settings, world: World
) -> None:
    with TestClient(create_app(strict_settings)) as client:
        for _ in range(3):
            sign_in_through_page(client, "P-A1", "wrong-guess")
        page = sign_in_through_page(client, "P-A1", PASSWORD)
    assert page.status_code == 429 and "Too many attempts" in page.text
    assert int(page.headers["retry-after"]) > 0


def test_invite_guessing_is_limited_even_though_failures_roll_back(
    strict_settings: Settings, world: World
) -> None:
    with TestClient(create_app(strict_settings)) as client:
        statuses = [
            client.post(
                "/api/v1/auth/invite",
                json={"code": "AAAA-BBBB-CCCC", "password": "a long enough passphrase"},
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [422, 422, 429]


def test_exports_are_limited_per_clinician(settings: Settings, world: World) -> None:
    strict = settings.model_copy(update={"export_limit_per_account": 1})
    with TestClient(create_app(strict)) as client:
        login(client, "clinician@one.example")
        page = client.get("/exports")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token is not None
        first = client.post("/exports", data={"csrf_token": token.group(1)})
        second = client.post("/exports", data={"csrf_token": token.group(1)})
    assert first.status_code == 200
    assert second.status_code == 429 and "retry-after" in second.headers


def test_a_limit_never_locks_an_account_for_good(engine: Engine, world: World) -> None:
    limit = Limit("login", "account", "p-a1", hits=3, seconds=60)
    start = 1_000_000.0
    with open_session(engine, write=True) as session:
        for second in range(3):
            security_service.enforce(session, limits=[limit], now=start + second)
        # An attacker keeps trying for two minutes: refused, and not counted.
        refused = 0
        for second in range(3, 120):
            try:
                security_service.enforce(session, limits=[limit], now=start + second)
            except security_service.TooManyRequests:
                refused += 1
        # Two windows after the last counted attempt the account is open again.
        security_service.enforce(session, limits=[limit], now=start + 180)
        session.commit()
    assert refused > 0


def test_a_nul_byte_in_a_login_is_a_wrong_login_not_a_crash(
    client: TestClient, world: World
) -> None:
    # Found by the Schemathesis run: PostgreSQL refuses NUL in text and answered 500.
    response = client.post(
        "/api/v1/auth/login", json={"login": "fa\x00@one.example", "password": "x"}
    )
    assert response.status_code == 401


def test_a_non_ascii_csrf_token_is_a_403_not_a_crash(client: TestClient, world: World) -> None:
    # Found by the Schemathesis run: hmac.compare_digest refuses non-ASCII str.
    response = client.post("/login", data={"csrf_token": "\u0080", "login": "x", "password": "y"})
    assert response.status_code == 403


def test_concurrent_reads_of_a_stale_session_all_succeed(
    app: object, client: TestClient, world: World, engine: Engine
) -> None:
    # Found by the Today-page benchmark: every read at a minute boundary tried to write
    # last_seen_at in its read transaction, and on SQLite all but one failed.
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    from sqlalchemy import update

    from app.auth.models import AuthSession
    from app.db import utcnow

    login(client, "P-A1")
    cookies = dict(client.cookies)
    with open_session(engine, write=True) as session:
        session.exec(update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        session.commit()

    def read(_: int) -> int:
        with TestClient(app, cookies=cookies) as reader:  # type: ignore[arg-type]
            return reader.get("/api/v1/auth/me").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(read, range(24)))
    assert set(statuses) == {200}
    with open_session(engine) as session:
        seen = session.exec(select(AuthSession.last_seen_at)).all()
    assert max(seen) > utcnow() - timedelta(minutes=1)


def test_an_audited_read_after_a_pause_succeeds(
    client: TestClient, world: World, engine: Engine
) -> None:
    # Found by the outcome-summary benchmark: the session touch committed after the request's
    # read transaction began, so on SQLite the audit event at its end could not upgrade to a
    # write ("database is locked") and the page failed after a minute's pause.
    from datetime import timedelta

    from sqlalchemy import update

    from app.auth.models import AuthSession
    from app.db import utcnow

    login(client, "clinician@one.example")
    with open_session(engine, write=True) as session:
        session.exec(update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        session.commit()
    assert client.get("/api/v1/outcomes/summary").status_code == 200
    with open_session(engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert "view_outcome_summary" in actions
