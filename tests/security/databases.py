"""Private, migrated databases for security tests that build their world once per module or
run a real server in a subprocess (the shared per-test databases are truncated between tests)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from app import migrate
from tests.conftest import POSTGRES_ADMIN_URL, REQUIRE_POSTGRES, _postgres_unreachable_reason

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def private_database(engine: str, folder: Path) -> Iterator[str]:
    """A fresh migrated database of ``engine``; a PostgreSQL one is dropped afterwards."""
    if engine == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "tend.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
        return
    reason = _postgres_unreachable_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(reason)
    name = f"tend_sec_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
