"""Scale-out: two worker processes against PostgreSQL serve one session; nothing that
matters lives in a process (sessions and rate limits are in the database)."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.db import create_db_engine
from tests.factories import PASSWORD, build_world

from .databases import private_database
from .server import Server, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_two_workers_serve_the_same_session(tmp_path: Path) -> None:
    with private_database("postgresql", tmp_path) as url:
        engine = create_db_engine(url)
        build_world(engine)
        engine.dispose()
        server = Server(url, tmp_path / "data", workers=2)
        server.start(timeout=60)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                sign_in(client, "fa@one.example", PASSWORD)
                cookies = dict(client.cookies)
                headers = dict(client.headers)

            # A new connection each time ("Connection: close"), so either worker may accept it.
            shared = httpx.Client(
                base_url=server.url,
                cookies=cookies,
                headers={**headers, "Connection": "close"},
                timeout=30,
            )

            def fetch(_: int) -> tuple[int, str, str]:
                response = shared.get("/api/v1/auth/me")
                return (
                    response.status_code,
                    response.json().get("login", ""),
                    response.headers.get("x-tend-worker", ""),
                )

            answers: list[tuple[int, str, str]] = []
            deadline = time.monotonic() + 40
            with ThreadPoolExecutor(max_workers=8) as pool:
                # The second worker may still be importing when the first answers /healthz.
                while len({pid for *_, pid in answers}) < 2 and time.monotonic() < deadline:
                    answers += pool.map(fetch, range(40))
            shared.close()
        finally:
            server.stop()

    assert {status for status, _, _ in answers} == {200}
    assert {login for _, login, _ in answers} == {"fa@one.example"}
    workers = {pid for _, _, pid in answers}
    assert len(workers) == 2, f"answered by {workers}"
