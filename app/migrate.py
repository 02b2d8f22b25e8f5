"""Running Alembic migrations from code (the CLI, `make run`, and the test database)."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine

from app.config import PROJECT_ROOT
from app.models import metadata


def _config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (the newest by default)."""
    command.upgrade(_config(url), revision)


def schema_drift(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database (empty when in step)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def known_revisions() -> set[str]:
    """Every schema revision this version of Tend knows (a restore refuses newer ones)."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(_config("")).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest schema revision this version of Tend knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config("")).get_current_head()
