"""The schema comes from the migrations, and the migrations keep up with the models."""

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from app import migrate
from app.db import create_db_engine
from app.migrate import schema_drift
from app.models import metadata


def test_migrations_build_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {table.name for table in metadata.sorted_tables} <= tables


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    assert schema_drift(engine) == [], "run: alembic revision --autogenerate -m '...'"


# The schema of the last release (2026-11-26): upgrades from it must keep every row.
LAST_RELEASE = "854b3c3e8d39"


def test_an_upgrade_keeps_every_row_of_an_older_database(tmp_path: Path) -> None:
    """On SQLite a batch migration copies a table and drops the old one; with foreign keys on,
    dropping `clinic` deleted every row that cascades from it (users, groups, practice...)."""
    url = f"sqlite:///{tmp_path / 'tend.db'}"
    migrate.upgrade(url, LAST_RELEASE)
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clinic (id, slug, name, timezone, crisis_text, created_at) "
                "VALUES (1, 'one', 'One', 'Europe/London', 'Call 999', '2026-11-01 12:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO user (id, clinic_id, login, role, display_name, is_active, "
                "created_at) VALUES (1, 1, 'P-1', 'patient', 'P-1', 1, '2026-11-01 12:00:00')"
            )
        )
    engine.dispose()
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT login FROM user")).scalars().all() == ["P-1"]
        assert connection.execute(text("SELECT count(*) FROM clinic")).scalar_one() == 1
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()
