"""Fresh, migrated benchmark databases on SQLite or PostgreSQL, and dropping them afterwards."""

import os
import uuid
from pathlib import Path

import psycopg

from app import migrate

POSTGRES_ADMIN = os.environ.get(
    "TEND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def fresh_database(engine: str, folder: Path, name: str) -> str:
    """A new migrated database: a file in ``folder`` (SQLite) or a new PostgreSQL database."""
    if engine == "sqlite":
        url = f"sqlite:///{folder / name}.db"
    else:
        database = f"tend_bench_{name}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        url = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        url = f"{url}/{database}"
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by fresh_database (a SQLite file goes with its folder)."""
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
