"""Alembic environment: migrates the database named by the caller or by TEND_DATABASE_URL."""

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine

from app.config import get_settings
from app.db import UTCDateTime, create_db_engine
from app.models import metadata

config = context.config


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Our UTC type is DateTime(timezone=True) in the schema; keep migrations free of app imports.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _engine() -> Engine:
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    return create_db_engine(url)


def run_migrations_online() -> None:
    engine = _engine()
    try:
        _migrate(engine)
    finally:
        engine.dispose()  # closing SQLite's last connection folds the WAL into the file


def _orphans(connection: Connection) -> set[tuple[Any, ...]]:
    """Rows whose foreign keys point nowhere (SQLite's own check)."""
    return {tuple(row) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}


def _migrate(engine: Engine) -> None:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one; with foreign keys on,
            # that drop deletes every row that cascades from it (clinic -> users -> practice).
            # SQLite ignores this pragma inside a transaction, so it goes to the driver before
            # SQLAlchemy begins one; the rows are checked against their keys before the commit.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            render_item=_render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            orphans_before = _orphans(connection) if sqlite else set()
            context.run_migrations()
            if sqlite and (lost := _orphans(connection) - orphans_before):
                raise RuntimeError(f"migration left rows without their parents: {sorted(lost)[:5]}")
        connection.commit()
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


run_migrations_online()
