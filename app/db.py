"""Database engine, shared column types and the per-request session.

SQLite is the embedded default (WAL, synchronous=FULL, foreign keys on, and write
transactions that take the write lock up front); PostgreSQL runs the same code.

A 201 promises the row survives a power cut. Every connection is checked as it opens: SQLite's
must report journal_mode=wal and synchronous=2 (FULL), PostgreSQL's fsync=on and
synchronous_commit=on (refused in production, a loud warning elsewhere); `check_durability`
opens one at start-up so that a production server on a weak database does not start.
"""

import functools
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    Table,
    TypeDecorator,
    create_engine,
    event,
    make_url,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from app import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)
_T = TypeVar("_T")
log = logging.getLogger("tend.db")


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC (from the one clock, `app.clock`)."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and always read back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; attach a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BUSY_TIMEOUT_SECONDS = 15
_WRITE = {"sqlite_immediate": True}
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
_write_turns: dict[str, threading.Lock] = {}
_write_turns_guard = threading.Lock()


def _write_turn_for(database: str) -> threading.Lock:
    """One turn-taking lock per database file, shared by every engine in this process."""
    with _write_turns_guard:
        return _write_turns.setdefault(database, threading.Lock())


class _TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection whose writers queue for their turn inside this process.

    SQLite's own busy handler makes a waiting writer sleep (1, 2, 5 ... 100 ms) and retry,
    so under load the write lock often sits free while every writer sleeps. Queueing on a
    Python lock first hands the turn over the moment the holder commits or rolls back.
    Writers in other processes (the CLI, a second server) still meet the busy timeout.
    """

    write_turn: "threading.Lock | None" = None
    _holds_turn = False

    def begin_write(self) -> None:
        """BEGIN IMMEDIATE once this process's earlier writers are done."""
        assert self.write_turn is not None
        if not self.write_turn.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        self._holds_turn = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._give_back_turn()
            raise

    def _give_back_turn(self) -> None:
        if self._holds_turn:
            self._holds_turn = False
            assert self.write_turn is not None
            self.write_turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back_turn()


def _configure_sqlite(engine: Engine) -> None:
    write_turn = _write_turn_for(os.path.realpath(engine.url.database or ":memory:"))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        dbapi_connection.write_turn = write_turn
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 201 means the row survived power loss
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        try:
            _refuse_weak_sqlite(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock at BEGIN, so two writers queue instead of deadlocking on upgrade.
        if connection.get_execution_options().get("sqlite_immediate", False):
            connection.connection.dbapi_connection.begin_write()
        else:
            connection.exec_driver_sql("BEGIN")


class DurabilityError(RuntimeError):
    """The database would not keep a committed write through a power cut."""


def _refuse_weak_sqlite(cursor: Any) -> None:
    # Asked back, not assumed: WAL cannot be set on some filesystems (and an in-memory
    # database reports "memory"), and a PRAGMA that does not take effect says nothing.
    journal_mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    synchronous = int(cursor.execute("PRAGMA synchronous").fetchone()[0])
    if (journal_mode, synchronous) != ("wal", 2):
        raise DurabilityError(
            f"SQLite reports journal_mode={journal_mode}, synchronous={synchronous}; Tend needs "
            "journal_mode=wal and synchronous=2 (FULL) so that a saved write survives power loss"
        )


# synchronous_commit: every value but "off" waits for the local WAL flush before COMMIT returns.
_POSTGRES_FLUSHING_COMMITS = {"on", "local", "remote_write", "remote_apply"}


def _postgres_problems(cursor: Any) -> list[str]:
    cursor.execute("SHOW fsync")
    fsync = cursor.fetchone()[0]
    cursor.execute("SHOW synchronous_commit")
    synchronous_commit = cursor.fetchone()[0]
    problems = []
    if fsync != "on":
        problems.append(f"fsync={fsync} (must be on)")
    if synchronous_commit not in _POSTGRES_FLUSHING_COMMITS:
        problems.append(f"synchronous_commit={synchronous_commit} (must be on)")
    return problems


def postgres_durability_problems(engine: Engine) -> list[str]:
    """What in this PostgreSQL server's settings could lose a committed write on power loss."""
    raw = engine.raw_connection()
    try:
        return _postgres_problems(raw.cursor())
    finally:
        raw.close()


def _check_postgres_connections(engine: Engine, *, production: bool) -> None:
    """Each new connection asks the server (settings can differ per database and role, and
    a server may be down when Tend starts). In production a connection that could lose
    committed writes is refused; anywhere else Tend warns loudly, once (a developer may run
    PostgreSQL with fsync off)."""
    warned = threading.Event()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            problems = _postgres_problems(cursor)
        dbapi_connection.rollback()  # SHOW began a transaction; leave the connection idle
        if not problems:
            return
        message = "PostgreSQL could lose committed writes on power loss: " + ", ".join(problems)
        if production:
            raise DurabilityError(message + ". Refusing to use it in production.")
        if not warned.is_set():
            warned.set()
            log.warning("DURABILITY WARNING: %s. Never run a clinic like this.", message)


def check_durability(engine: Engine) -> None:
    """At start-up: open a connection, so that a database that could lose committed writes
    stops a production server before it serves anyone (each connection is checked as it
    opens). A database that does not answer yet is left to /healthz to report."""
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        log.warning("database unreachable at start-up: %s", error.__class__.__name__)


def create_db_engine(url: str, *, production: bool = False) -> Engine:
    """An engine for ``url`` with Tend's connection settings applied; ``production`` makes a
    PostgreSQL connection that could lose committed writes an error rather than a warning."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            # As many connections as the server has worker threads (AnyIO's default 40).
            pool_size=20,
            max_overflow=20,
            connect_args={
                "check_same_thread": False,
                "timeout": BUSY_TIMEOUT_SECONDS,
                "factory": _TurnTakingConnection,
            },
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    _check_postgres_connections(engine, production=production)
    return engine


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """A session; ``write=True`` makes SQLite take the write lock when the transaction begins."""
    return Session(engine, expire_on_commit=False, execution_options=_WRITE if write else {})


def open_lookup_session(engine: Engine) -> Session:
    """A session for a lookup of a statement or two: who is calling, the group in the path.

    On PostgreSQL it runs outside a transaction (each statement sees the database as of its
    own start), sparing the two round trips of BEGIN and ROLLBACK. SQLite's are in-process
    and cheap, and its connections stay in the explicit-BEGIN mode set up above.
    """
    autocommit = engine.dialect.name == "postgresql"
    return Session(
        engine, expire_on_commit=False, execution_options=_AUTOCOMMIT if autocommit else {}
    )


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: committed when the route returns, before the response is sent.

    Async only so that FastAPI does not spend a worker-thread hop on creating it (that does no
    I/O: the connection is taken at the first statement); the ending runs in a worker thread.
    """
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    session = open_session(request.app.state.engine, write=write)
    try:
        yield session
    except BaseException:
        await _end(session, _roll_back_and_close)
        raise
    await _end(session, _commit_and_close)


async def _end(session: Session, ending: Callable[[Session], None]) -> None:
    if not session.in_transaction():
        session.close()  # nothing begun: no I/O to wait for
        return
    # Shielded: even a cancelled request must give back its connection (and SQLite write turn).
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(ending, session)


async def in_write_transaction(request: Request, work: Callable[[Session], _T]) -> _T:
    """``work`` in a write session of its own, committed, in one worker-thread turn.

    For the busiest writes (practice logs, ratings), from async routes: one hand-over to a
    worker thread instead of three (the route, FastAPI validating its answer, the request
    session's commit), and no request session to set up and end. If ``work`` or the commit
    fails, nothing is kept: the session rolls back as it closes.
    """

    def work_then_commit() -> _T:
        with open_session(request.app.state.engine, write=True) as session:
            result = work(session)
            session.commit()
            return result

    return await run_in_threadpool(work_then_commit)


def _commit_and_close(session: Session) -> None:
    with session:
        session.commit()


def _roll_back_and_close(session: Session) -> None:
    with session:
        # Rollback expires loaded objects; detach them first so the error page can still
        # read what the route loaded (otherwise a 403 page for a signed-in user became a 500).
        session.expunge_all()
        session.rollback()


def insert_unless_present(session: Session, table: Table, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its key is taken already; True when this call stored it.

    One statement on both engines (ON CONFLICT DO NOTHING), so two requests racing to store
    the same id need no savepoint and no caught IntegrityError to settle who won.
    """
    statement = _insert_unless_present(session.get_bind().dialect.name, table)
    return session.execute(statement, row).first() is not None


@functools.cache
def _insert_unless_present(dialect: str, table: Table) -> Any:
    # Built once per table: composing the statement cost more than running it.
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports no rowcount for this statement.
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def add_even_when_reading(session: Session, *rows: SQLModel) -> None:
    """Add ``rows`` to the session's work, or store them now when the session reads SQLite.

    For what pages that only read must record: a staff view's audit event, a clinic's first
    codebook. On SQLite a read transaction cannot take the write lock once anyone else has
    committed since it began, so a read session's rows go in a short write transaction of
    their own (committed at once) and the page's reads are untouched. PostgreSQL, write
    sessions and sessions already holding changes keep the rows in their own transaction.
    """
    engine = session.get_bind()
    reading = not session.execution_options.get("sqlite_immediate")
    pending = session.new or session.dirty or session.deleted
    if engine.dialect.name != "sqlite" or not reading or pending:
        session.add_all(rows)
        return
    # End the read first: its next statement then sees the rows, and its connection goes back
    # to the pool (a crowd of views each holding one while waiting for another would
    # empty the pool and wait on each other).
    session.commit()
    with Session(engine, expire_on_commit=False, execution_options=_WRITE) as writer:
        writer.add_all(rows)
        writer.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def enum_type(enum_class: type[StrEnum]) -> SAEnum:
    """A string column holding an enum's values: no native database enum to migrate later."""
    return SAEnum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )
