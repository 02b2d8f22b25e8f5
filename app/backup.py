"""Consistent online backups and verified restores (`tend backup` / `tend restore`).

SQLite: the online backup API copies a snapshot in one step while the server keeps writing
(in WAL mode readers never block writers); the copy is checked with ``PRAGMA
integrity_check`` and counted before it is kept. A restore checks the file the same way,
keeps a copy of the current database, copies the backup in through the same API (so the
live database's WAL stays consistent) and checks the counts again.

PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot) into a temporary file, checked
by reading it back with ``pg_restore`` (schema revision and rows per table, from the dump
itself: no scratch database, so the roles need no CREATEDB) before it is renamed into place.
A restore checks the file the same way and replaces the live schema in a single transaction.
Without the PostgreSQL client tools the commands refuse with a message.
"""

import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

from app import clock
from app.models import metadata

TABLES = sorted(table.name for table in metadata.sorted_tables)
READ_FROM_DUMP = "schema revision and row counts read from the dump (no scratch database)"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Report:
    path: Path
    revision: str
    rows: dict[str, int]
    checked_by: str = "integrity_check, schema revision and row counts"


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    """The database file of a sqlite:/// URL."""
    database = make_url(url).database
    if not database:
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _sqlite_counts(connection: sqlite3.Connection) -> tuple[str, dict[str, int]]:
    result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"The database is damaged (integrity_check: {result}).")
    try:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        rows = {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
    except sqlite3.DatabaseError as error:
        raise BackupError(f"This is not a Tend database ({error}).") from error
    return revision, rows


def verify_sqlite(path: Path) -> Report:
    """Integrity, schema revision and row counts of a SQLite file (read-only)."""
    if not path.is_file():
        raise BackupError(f"No file at {path}.")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            revision, rows = _sqlite_counts(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database ({error}).") from error
    return Report(path, revision, rows)


def _copy_sqlite(source: Path, destination: Path) -> None:
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(destination, timeout=30)
    try:
        # One step (pages=-1): the whole snapshot under one read transaction, so it is
        # consistent even while the server writes.
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def backup_sqlite(url: str, out: Path) -> Report:
    """Copy the live database to ``out`` (atomically: a temporary file, checked, renamed)."""
    source = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"No database at {source}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        _copy_sqlite(source, partial)
        with sqlite3.connect(partial) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        report = verify_sqlite(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return Report(out, report.revision, report.rows)


def restore_sqlite(
    url: str, backup: Path, *, known_revisions: set[str]
) -> tuple[Report, Path | None]:
    """Replace the live database with ``backup`` after checking it; returns the check and
    where the previous database was kept."""
    checked = verify_sqlite(backup)
    if checked.revision not in known_revisions:
        raise BackupError(
            f"The backup's schema ({checked.revision}) is newer than this version of Tend."
        )
    live = sqlite_path(url)
    kept = None
    if live.is_file():
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        kept = live.with_name(f"{live.stem}.pre-restore-{stamp}.db")
        backup_sqlite(url, kept)
    else:
        live.parent.mkdir(parents=True, exist_ok=True)
    _copy_sqlite(backup, live)
    restored = verify_sqlite(live)
    if restored.rows != checked.rows or restored.revision != checked.revision:
        raise BackupError(f"Restored counts differ from the backup's; the old one is at {kept}.")
    return restored, kept


# --- PostgreSQL -----------------------------------------------------------------------------


def _libpq_url(url: str, database: str | None = None) -> str:
    """The URL for psycopg, in this process (password included)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _command_url(url: str, database: str | None = None) -> str:
    """The URL for pg_dump and pg_restore: without the password, which any local user could
    read from the process list; it goes in PGPASSWORD (or comes from ~/.pgpass)."""
    parsed = make_url(url)
    without = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=database if database is not None else parsed.database,
        query=parsed.query,
    )
    return without.render_as_string(hide_password=False)


def _password_env(url: str) -> dict[str, str] | None:
    password = make_url(url).password
    return {**os.environ, "PGPASSWORD": str(password)} if password else None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed. Install the PostgreSQL client tools "
            "(e.g. apt-get install postgresql-client) or see docs/deploy.md."
        )
    return found


def _run(command: list[str], *, url: str = "") -> str:
    env = _password_env(url) if url else None
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-800:]}")
    return result.stdout


def _postgres_counts(url: str) -> tuple[str, dict[str, int]]:
    with psycopg.connect(url) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        rows = {
            t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
            for t in TABLES
        }
    assert revision is not None
    return str(revision[0]), rows


def backup_postgres(url: str, out: Path) -> Report:
    """pg_dump the database to a temporary file, check it by reading it back (schema revision
    and rows per table, from the dump itself), then rename it to ``out``."""
    pg_dump = _tool("pg_dump")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        _run(
            [pg_dump, "--format=custom", "--no-owner", "--file", str(partial), _command_url(url)],
            url=url,
        )
        revision, rows = read_postgres_dump(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return Report(out, revision, rows, checked_by=READ_FROM_DUMP)


def read_postgres_dump(dump: Path) -> tuple[str, dict[str, int]]:
    """The schema revision and rows per table a custom-format dump holds, read with
    ``pg_restore`` into text: needs no database, so no CREATEDB privilege."""
    if not dump.is_file():
        raise BackupError(f"No file at {dump}.")
    command = [_tool("pg_restore"), "--data-only", "--file=-", str(dump)]
    rows: dict[str, int] = {}
    revision = None
    table = None
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if table is None:
                if line.startswith("COPY "):
                    table = line.split()[1].rsplit(".", 1)[-1].strip('"')
                    rows[table] = 0
            elif line == "\\.\n":
                table = None
            else:
                rows[table] += 1
                if table == "alembic_version":
                    revision = line.strip()
        error = process.stderr.read() if process.stderr else ""
    if process.returncode != 0 or revision is None:
        raise BackupError(f"{dump} is not a readable Tend dump ({error.strip()[-800:]}).")
    return revision, {name: rows.get(name, 0) for name in TABLES}


def restore_postgres(
    url: str, dump: Path, *, known_revisions: set[str]
) -> tuple[Report, Path | None]:
    """Check ``dump`` by reading it, keep a dump of the live database, then replace it in one
    transaction (a dump that does not load changes nothing) and compare the counts."""
    revision, expected = read_postgres_dump(dump)
    if revision not in known_revisions:
        raise BackupError(f"The backup's schema ({revision}) is newer than this version of Tend.")
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    kept = dump.with_name(f"pre-restore-{stamp}.dump")
    backup_postgres(url, kept)
    _run(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error"]
        + ["--single-transaction", "-d", _command_url(url), str(dump)],
        url=url,
    )
    revision, rows = _postgres_counts(_libpq_url(url))
    if rows != expected:
        raise BackupError(f"Restored counts differ from the backup's; the old one is at {kept}.")
    return Report(dump, revision, rows, checked_by=READ_FROM_DUMP), kept


# --- Either engine --------------------------------------------------------------------------


def backup(url: str, out: Path) -> Report:
    """A consistent, checked backup of the database at ``url``."""
    return backup_postgres(url, out) if url.startswith("postgresql") else backup_sqlite(url, out)


def restore(url: str, file: Path, *, known_revisions: set[str]) -> tuple[Report, Path | None]:
    """Replace the database at ``url`` with a checked backup; returns where the old one went."""
    if url.startswith("postgresql"):
        return restore_postgres(url, file, known_revisions=known_revisions)
    return restore_sqlite(url, file, known_revisions=known_revisions)
