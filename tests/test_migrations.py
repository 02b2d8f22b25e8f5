"""The schema comes from the migrations, and the migrations keep up with the models."""

from sqlalchemy import Engine, inspect

from app.migrate import schema_drift
from app.models import metadata


def test_migrations_build_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {table.name for table in metadata.sorted_tables} <= tables


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    assert schema_drift(engine) == [], "run: alembic revision --autogenerate -m '...'"
