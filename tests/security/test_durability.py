"""kill -9 under load: every practice log that got a 2xx is stored exactly once, replays
after a restart answer with identical bodies, and the database is intact.

kill -9 leaves the operating system's file cache intact, so that test would pass with
synchronous=OFF too. What a power cut tests is whether the data reached the disk before the
answer left: the strace test watches the server's sync calls for that (SQLite; PostgreSQL's
syncs happen in its own server processes, so its settings are checked in tests/test_durability.py).
The kill point is random but seeded; the seed is printed, and TEND_KILL_SEED replays it.
"""

import os
import random
import re
import shutil
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
            seed = int(os.environ.get("TEND_KILL_SEED") or random.randrange(2**32))
            kill_after = random.Random(seed).randint(20, 200)
            print(f"kill -9 after {kill_after} answers; replay with TEND_KILL_SEED={seed}")

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


STRACE = shutil.which("strace")
SYNC = re.compile(r"\b(fsync|fdatasync)\((\d+)<([^>]*)>")
SENT_201 = re.compile(r"\b(?:write|writev|sendto)\(\d+<TCP.*HTTP/1\.1 201 ")
RECEIVED_POST = re.compile(r"\b(?:read|recvfrom)\(\d+<TCP.*POST /api/v1/practice-logs ")


@pytest.mark.skipif(STRACE is None, reason="no strace (Debian package strace; .ci/run installs it)")
def test_the_wal_reaches_the_disk_before_each_201_leaves(tmp_path: Path) -> None:
    """Under strace, a burst of practice logs: between reading each request and sending its
    201, the server syncs the database's write-ahead log. With synchronous=NORMAL or OFF there
    would be no sync there, however a kill -9 test fared."""
    trace = tmp_path / "strace.txt"
    # -f threads and children; -yy names each descriptor's file or socket address; -s shows
    # enough of each buffer for the request line and the status line.
    strace = [str(STRACE), "-f", "-yy", "-s", "120", "-o", str(trace)]
    # The event loop (uvloop) reads and writes sockets with read/write/writev, SQLite its
    # files with pread64/pwrite64 (not traced), so every read and write traced is a socket's.
    strace += ["-e", "trace=fsync,fdatasync,read,write,writev,sendto,recvfrom"]
    with private_database("sqlite", tmp_path / "db") as url:
        engine = create_db_engine(url)
        world = build_world(engine)
        with open_session(engine) as session:
            exercise_id = session.exec(
                select(func.min(Exercise.id)).where(Exercise.programme_id == world.programme_id)
            ).one()
        server = Server(url, tmp_path / "data", run_under=strace)
        server.start(timeout=60)
        try:
            client = session_client(server, engine, world.users, "P-A1")
            burst = [body for login, body in _bodies(exercise_id)[:60] if login == "P-A1"]
            burst = list({body["id"]: body for body in burst}.values())[:12]
            for body in burst:
                response = client.post("/api/v1/practice-logs", json=body)
                assert response.status_code == 201, response.text
            client.close()
        finally:
            server.stop()
            engine.dispose()

    wal = f"{tmp_path / 'db' / 'tend.db'}-wal"
    windows: list[list[str]] = []  # the database files synced while each request was handled
    for line in trace.read_text().splitlines():
        if RECEIVED_POST.search(line):
            windows.append([])
        elif (sync := SYNC.search(line)) and windows:
            windows[-1].append(sync.group(3))
        elif SENT_201.search(line):
            assert windows, "a 201 left before any practice log was read"
            assert wal in windows[-1], f"201 #{len(windows)} left before the WAL was synced"
    assert len(windows) == len(burst)
