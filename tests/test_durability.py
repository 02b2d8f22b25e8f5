"""Settings that a power cut would test: what the database reports, not what Tend asked for.

The kill -9 test (tests/security/test_durability.py) leaves the operating system's file cache
intact, so it would pass with synchronous=OFF; these would not.
"""

import logging
import shutil
import threading
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import Settings
from app.db import DurabilityError, create_db_engine, postgres_durability_problems
from app.main import create_app


def test_every_live_sqlite_connection_is_wal_and_synchronous_full(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "tend.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        environment="test", database_url=f"sqlite:///{path}", data_dir=tmp_path / "data"
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        _every_connection_is_durable(client.app.state.engine)  # type: ignore[attr-defined]


def _every_connection_is_durable(engine: Engine) -> None:
    # Hold several at once, so the pool opens new connections rather than reusing one.
    with ExitStack() as stack:
        connections = [stack.enter_context(engine.connect()) for _ in range(6)]
        reported = [
            (
                c.execute(text("PRAGMA journal_mode")).scalar(),
                c.execute(text("PRAGMA synchronous")).scalar(),
            )
            for c in connections
        ]
    assert reported == [("wal", 2)] * 6

    # Connections opened by other threads (the server's worker threads) too.
    seen: list[tuple[str, int]] = []

    def in_a_thread() -> None:
        with engine.connect() as connection:
            seen.append(
                (
                    connection.execute(text("PRAGMA journal_mode")).scalar(),
                    connection.execute(text("PRAGMA synchronous")).scalar(),
                )
            )

    threads = [threading.Thread(target=in_a_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [("wal", 2)] * 4


def test_a_sqlite_database_that_cannot_keep_a_wal_is_refused(tmp_path: Path) -> None:
    """Opened without file locks (as on some network filesystems), a new SQLite database
    cannot switch to a WAL and stays in rollback-journal mode: no connection is handed out."""
    path = tmp_path / "tend.db"
    engine = create_db_engine(f"sqlite:///file:{path}?nolock=1&uri=true")
    with pytest.raises(DurabilityError, match="journal_mode=delete"), engine.connect():
        pass
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_reports_fsync_and_synchronous_commit_on(postgres_database: str) -> None:
    engine = create_db_engine(postgres_database)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW fsync")).scalar() == "on"
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
    assert postgres_durability_problems(engine) == []
    engine.dispose()


def _commits_without_waiting(url: str) -> None:
    """Make the test database's new sessions default to synchronous_commit=off."""
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{admin_url}/{name}", autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def _commits_waiting_again(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{admin_url}/{name}", autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" RESET synchronous_commit')


@pytest.mark.postgres
def test_production_refuses_to_start_on_a_postgresql_that_does_not_wait_for_the_disk(
    postgres_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_database
    settings = Settings(
        environment="production",
        database_url=url,
        data_dir=tmp_path / "data",
        secret_key="a-production-secret-that-is-long-enough",
    )
    _commits_without_waiting(url)
    try:
        refused = pytest.raises(DurabilityError, match="synchronous_commit=off")
        with refused, create_db_engine(url, production=True).connect():
            pass
        refused = pytest.raises(DurabilityError, match="synchronous_commit=off")
        with refused, TestClient(create_app(settings)):
            pass

        development = settings.model_copy(update={"environment": "development"})
        development = development.model_copy(update={"reminders_in_process": False})
        warned = caplog.at_level(logging.WARNING, logger="tend.db")
        with warned, TestClient(create_app(development)) as client:
            assert client.get("/healthz").status_code == 200
        assert "DURABILITY WARNING" in caplog.text
        assert "synchronous_commit=off" in caplog.text
    finally:
        _commits_waiting_again(url)
