"""Test databases built by running the migrations, on SQLite and (when reachable) PostgreSQL.

Every database test runs on both engines. PostgreSQL tests skip with a reason when no server
answers, unless TEND_REQUIRE_POSTGRES=1 (set by .ci/run), which turns the skip into a failure.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from app import clock as app_clock
from app import migrate
from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import create_db_engine, open_session
from app.main import create_app
from app.models import metadata
from app.programme import service as programme_service
from tests.clock import INSTANTS, POSTGRES_INSTANTS, TestClock
from tests.factories import World, build_world, translated_programme
from tests.mail_server import smtp_server  # noqa: F401  (a real SMTP server for any test)

POSTGRES_ADMIN_URL = os.environ.get(
    "TEND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("TEND_REQUIRE_POSTGRES") == "1"
# Commands and servers started by tests read the environment, whose default is production.
os.environ.setdefault("TEND_ENVIRONMENT", "test")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.clock` runs the test at every instant in tests/clock.py's INSTANTS, or at
    the names the marker lists (`@pytest.mark.clock("weekday_noon", "autumn_0130_gmt")`)."""
    marker = metafunc.definition.get_closest_marker("clock")
    if marker is None:
        return
    names = list(marker.args) or list(INSTANTS)
    unknown = set(names) - set(INSTANTS)
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: no instant named {unknown}")
    metafunc.parametrize("clock", names, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL a clock test runs at POSTGRES_INSTANTS only: the date arithmetic is the
    app's, the same on both engines, and SQLite runs every instant; PostgreSQL's part is
    storing and comparing the instants, which the clock changes and the year's end cover."""
    dropped = [item for item in items if _postgres_at_a_repeated_instant(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in set(dropped)]


def _postgres_at_a_repeated_instant(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get("database_url") == "postgresql" and params.get("clock") not in (
        None,
        *POSTGRES_INSTANTS,
    )


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[TestClock]:
    """The app clock for this test: fixed at the instant `@pytest.mark.clock` gives, or left on
    the system clock for an unmarked test (which may still set it). Every test leaves the clock
    as it found it: on the system clock.

    Autouse so that the clock is fixed before any fixture seeds data (a `world`, the demo)."""
    name: str | None = getattr(request, "param", None)
    if name is not None:
        app_clock.set_now(INSTANTS[name])
    yield TestClock(name)
    app_clock.set_now(None)


def _postgres_unreachable_reason() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"no PostgreSQL server at {POSTGRES_ADMIN_URL} ({error.__class__.__name__})"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test process; dropped afterwards."""
    reason = _postgres_unreachable_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(reason)
    name = f"tend_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    migrate.upgrade(url)
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "tend.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        # Triggers off for this transaction only: the audit trail refuses TRUNCATE otherwise.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each engine."""
    if request.param == "sqlite":
        path = tmp_path / "tend.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    engine = create_db_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-that-is-long-enough",
    )


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `tend` command in-process, on this test's database."""
    monkeypatch.setenv("TEND_DATABASE_URL", settings.resolved_database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def world(engine: Engine, request: pytest.FixtureRequest) -> World:
    """The one cast of clinics, staff, groups and patients (tests/factories.py). A test or
    module that needs its groups to start on another day says so with
    `@pytest.mark.world(started_days_ago=N)` (negative: the groups start in N days)."""
    marker = request.node.get_closest_marker("world")
    return build_world(engine, **(marker.kwargs if marker else {}))


@pytest.fixture
def welsh_programme(world: World, engine: Engine, tmp_path: Path) -> World:
    """The one cast, its programme reloaded with the test programme's Welsh translations."""
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(session, translated_programme(tmp_path / "cy"))
        session.commit()
    return world


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


def documented_role_setup() -> list[str]:
    """The SQL statements of docs/deploy.md's PostgreSQL role setup."""
    block = (
        (PROJECT_ROOT / "docs" / "deploy.md")
        .read_text()
        .split("<<'SQL'\n", 1)[1]
        .split("\nSQL\n", 1)[0]
    )
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture
def postgres_app_role(postgres_database: str) -> Iterator[str]:
    """The PostgreSQL test database as a role set up as docs/deploy.md says (it does not own
    the tables)."""
    role = f"tend_app_{uuid.uuid4().hex[:8]}"
    database = postgres_database.rsplit("/", 1)[1]
    owner_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(f'CREATE ROLE "{role}" LOGIN')
        owner_role = owner.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
        for statement in documented_role_setup():
            owner.execute(
                statement.replace("tend_owner", owner_role).replace(" tend;", f' "{role}";')
            )
    try:
        yield postgres_database.replace("postgres@", f"{role}@")
    finally:
        with psycopg.connect(owner_url, autocommit=True) as owner:
            owner.execute("DROP TABLE IF EXISTS added_by_a_later_migration")
            owner.execute(f'DROP OWNED BY "{role}"')
            owner.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def app_role_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """The database as the app reaches it in production (PostgreSQL: not as the owner)."""
    if database_url.startswith("postgresql"):
        return str(request.getfixturevalue("postgres_app_role"))
    return database_url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line saying how many tests skipped and why, so a skipped engine is not missed."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        terminalreporter.write_line("Skipped: none")
        return
    parts = [f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1])]
    terminalreporter.write_line(f"Skipped {sum(reasons.values())}: " + "; ".join(parts))
