"""kill -9 under load: every practice log that got a 2xx is stored exactly once, replays
after a restart answer with identical bodies, and the database is intact."""

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import select

from app import clock as app_clock
from app.db import create_db_engine, open_session
from app.practice.models import CheckIn, PracticeLog
from app.programme.models import Exercise
from tests.factories import build_world

from .databases import ENGINES, private_database
from .server import Server, session_client

pytestmark = pytest.mark.slow
PATIENTS = ["P-A1", "P-A2", "P-B1", "P-B2"]
UNIQUE_LOGS = 200
RETRIES = 50  # the same body sent again, concurrently, as a phone with a flaky signal does


def _bodies(exercise_id: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(1)
    now = app_clock.now()
    bodies = []
    for n in range(UNIQUE_LOGS):
        started = now - timedelta(minutes=n)
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "exercise_id": exercise_id,
            "started_at": started.isoformat(),
            "timezone": "Europe/London",
            "local_date": started.date().isoformat(),
            "listened_seconds": rng.randint(30, 900),
            "completed": rng.random() < 0.8,
        }
        if n % 2:
            body["ratings_before"] = {"pain_intensity": 6, "pain_distress": 5, "mood": 4}
        bodies.append((PATIENTS[n % len(PATIENTS)], body))
    bodies += [bodies[rng.randrange(UNIQUE_LOGS)] for _ in range(RETRIES)]
    rng.shuffle(bodies)
    return bodies


@pytest.mark.parametrize("engine_name", ENGINES)
def test_kill_9_loses_nothing_and_counts_nothing_twice(engine_name: str, tmp_path: Path) -> None:
    with private_database(engine_name, tmp_path) as url:
        engine = create_db_engine(url)
        world = build_world(engine)
        with open_session(engine) as session:
            exercise_id = session.exec(
                select(func.min(Exercise.id)).where(Exercise.programme_id == world.programme_id)
            ).one()
        server = Server(url, tmp_path / "data")
        server.start()
        clients = {}
        try:
            for login in PATIENTS:
                clients[login] = session_client(server, engine, world.users, login)
            requests = _bodies(exercise_id)
            answers: list[tuple[int, str] | None] = [None] * len(requests)
            done = threading.Semaphore(0)
            kill_after = random.randint(20, 200)

            def send(index: int) -> None:
                login, body = requests[index]
                try:
                    response = clients[login].post("/api/v1/practice-logs", json=body)
                    answers[index] = (response.status_code, response.text)
                except httpx.HTTPError:
                    answers[index] = None  # the server died under us: unknown outcome
                finally:
                    done.release()

            def killer() -> None:
                for _ in range(kill_after):
                    done.acquire()
                server.kill()

            kill_thread = threading.Thread(target=killer)
            kill_thread.start()
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(send, range(len(requests))))
            kill_thread.join()

            server.start()
            succeeded: dict[str, str] = {}
            for (_, body), answer in zip(requests, answers, strict=True):
                if answer is not None:
                    assert answer[0] in (200, 201), answer
                    previous = succeeded.setdefault(body["id"], answer[1])
                    assert previous == answer[1], "two 2xx answers for one log differ"
            assert len(succeeded) > 0, "nothing succeeded before the kill"

            def replay(index: int) -> tuple[int, str]:
                login, body = requests[index]
                response = clients[login].post("/api/v1/practice-logs", json=body)
                return response.status_code, response.text

            stored_before_replay = set(succeeded)
            with ThreadPoolExecutor(max_workers=8) as pool:
                replays = list(pool.map(replay, range(len(requests))))
            created = Counter()
            for (_, body), (status, body_text) in zip(requests, replays, strict=True):
                assert status in (200, 201), body_text
                if body["id"] in stored_before_replay:
                    # Sent again after a 2xx: must be the stored log, not a second one.
                    assert status == 200
                created[body["id"]] += status == 201
                succeeded.setdefault(body["id"], body_text)
                assert body_text == succeeded[body["id"]]
            # Replays of one log race each other; exactly one of them may have created it.
            assert max(created.values()) <= 1
        finally:
            for client in clients.values():
                client.close()
            server.stop()

        ids = {body["id"] for _, body in requests}
        with_ratings = {body["id"] for _, body in requests if "ratings_before" in body}
        with open_session(engine) as session:
            stored = session.exec(select(PracticeLog.id)).all()
            check_ins = session.exec(select(CheckIn.practice_log_id)).all()
            if engine_name == "sqlite":
                assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()
        assert sorted(stored) == sorted(ids)  # every log once, nothing extra
        assert sorted(c for c in check_ins if c in ids) == sorted(with_ratings)
