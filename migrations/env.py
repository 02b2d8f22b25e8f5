"""Alembic environment: migrates the database named by the caller or by TEND_DATABASE_URL."""

from typing import Any

from alembic import context
from sqlalchemy import Engine

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


def _migrate(engine: Engine) -> None:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=_render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
