"""Database engine, shared column types and the per-request session.

SQLite is the embedded default (WAL, synchronous=FULL, foreign keys on, and write
transactions that take the write lock up front); PostgreSQL runs the same code.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine.interfaces import Dialect
from sqlmodel import Session, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


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


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 201 means the row survived power loss
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock at BEGIN, so two writers queue instead of deadlocking on upgrade.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` with Tend's connection settings applied."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """A session; ``write=True`` makes SQLite take the write lock when the transaction begins."""
    bind = engine.execution_options(sqlite_immediate=True) if write else engine
    return Session(bind, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed when the route returns, before the response is sent."""
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    with open_session(request.app.state.engine, write=write) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            # Rollback expires loaded objects; detach them first so the error page can still
            # read the signed-in user (role, name) after the session has closed.
            session.expunge_all()
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def enum_type(enum_class: type[StrEnum]) -> SAEnum:
    """A string column holding an enum's values: no native database enum to migrate later."""
    return SAEnum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )
