"""Write transactions: writers in one process take turns, and every way a write ends hands
the turn on (a turn kept by mistake would stop every patient's writes)."""

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from app.db import BUSY_TIMEOUT_SECONDS, create_db_engine, open_session


def _stored(engine: Engine, note: str) -> None:
    with open_session(engine, write=True) as session:
        session.execute(
            text(
                "INSERT INTO clinic (slug, name, timezone, crisis_text, created_at) "
                "VALUES (:s, :s, 'UTC', '', CURRENT_TIMESTAMP)"
            ),
            {"s": note},
        )
        session.commit()


def _count(engine: Engine) -> int:
    with open_session(engine) as session:
        return int(session.execute(text("SELECT count(*) FROM clinic")).scalar_one())


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: the write turns are how SQLite's writers in one process share its lock."""
    path = tmp_path / "tend.db"
    shutil.copy(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_a_writer_waits_for_the_one_in_progress_then_both_are_stored(engine: Engine) -> None:
    first_began = threading.Event()

    def slow_writer() -> None:
        with open_session(engine, write=True) as session:
            session.execute(text("SELECT 1 FROM clinic"))
            first_began.set()
            time.sleep(0.3)
            session.execute(
                text(
                    "INSERT INTO clinic (slug, name, timezone, crisis_text, created_at) "
                    "VALUES ('slow', 'slow', 'UTC', '', CURRENT_TIMESTAMP)"
                )
            )
            session.commit()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    first_began.wait(5)
    _stored(engine, "second")
    thread.join()

    assert _count(engine) == 2


@pytest.mark.parametrize("ending", ["rollback", "close", "error"])
def test_every_way_a_write_ends_lets_the_next_writer_in(sqlite_engine: Engine, ending: str) -> None:
    engine = sqlite_engine
    session = open_session(engine, write=True)
    session.execute(text("SELECT 1 FROM clinic"))
    if ending == "rollback":
        session.rollback()
    elif ending == "close":
        session.close()
    else:
        with pytest.raises(OperationalError):
            session.execute(text("INSERT INTO no_such_table VALUES (1)"))
        session.close()

    started = time.monotonic()
    _stored(engine, "next")

    assert time.monotonic() - started < BUSY_TIMEOUT_SECONDS / 3
    assert _count(engine) == 1
