"""`tend backup` under write load is consistent; `tend restore` checks before replacing."""

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func
from sqlmodel import select
from typer.testing import CliRunner

from app import clock as app_clock
from app.cli import cli
from app.config import get_settings
from app.db import create_db_engine, open_session
from app.practice import service as practice_service
from app.practice.models import CheckIn, PracticeLog
from app.practice.schemas import PracticeLogCreate
from tests.factories import World, build_world

from .databases import ENGINES, private_database

pytestmark = pytest.mark.slow


def _tend(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("TEND_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def _writer(engine: Engine, world: World, stop: threading.Event) -> Iterator[int]:
    """Write practice logs (each with a check-in) until told to stop."""
    written = 0
    while not stop.is_set():
        now = app_clock.now()
        with open_session(engine, write=True) as session:
            practice_service.record_practice(
                session,
                enrolment=world.enrolments["A1"],
                programme_id=world.programme_id,
                payload=PracticeLogCreate(
                    id=uuid.uuid4(),
                    kind="own",
                    started_at=now,
                    timezone="Europe/London",
                    local_date=now.date(),
                    listened_seconds=60,
                    completed=True,
                    ratings_before={"pain_intensity": 5, "pain_distress": 4, "mood": 6},
                ),
            )
            session.commit()
        written += 1
        yield written


def _counts(engine: Engine) -> tuple[int, int]:
    with open_session(engine) as session:
        logs = session.exec(select(func.count()).select_from(PracticeLog)).one()
        check_ins = session.exec(select(func.count()).select_from(CheckIn)).one()
    return int(logs), int(check_ins)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_backup_under_load_and_verified_restore(
    engine_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        private_database(engine_name, tmp_path / "live") as live_url,
        private_database(engine_name, tmp_path / "target") as target_url,
    ):
        live = create_db_engine(live_url)
        world = build_world(live)
        stop = threading.Event()
        progress: list[int] = []
        writer = threading.Thread(target=lambda: progress.extend(_writer(live, world, stop)))
        writer.start()
        try:
            while len(progress) < 20:  # let the load get going
                stop.wait(0.05)
            out = tmp_path / "backups" / "tend.backup"
            code, output = _tend(monkeypatch, live_url, "backup", "--out", str(out))
        finally:
            stop.set()
            writer.join()
        assert code == 0, output
        live_logs, _ = _counts(live)
        live.dispose()

        code, output = _tend(monkeypatch, target_url, "restore", str(out))
        assert code == 0, output
        target = create_db_engine(target_url)
        logs, check_ins = _counts(target)
        target.dispose()
        # A snapshot: every log has its check-in, and writes went on after it was taken.
        assert 20 <= logs == check_ins <= live_logs
        assert f"practice_log: {logs}" in output


def test_restore_refuses_a_damaged_file_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_database("sqlite", tmp_path) as url:
        engine = create_db_engine(url)
        build_world(engine)
        damaged = tmp_path / "damaged.backup"
        code, output = _tend(monkeypatch, url, "backup", "--out", str(damaged))
        assert code == 0, output
        data = bytearray(damaged.read_bytes())
        data[8192:12288] = b"\xff" * 4096  # scribble over a page in the middle
        damaged.write_bytes(bytes(data))
        not_sqlite = tmp_path / "notes.txt"
        not_sqlite.write_text("hello")
        before = _counts(engine)

        for bad in (damaged, not_sqlite, tmp_path / "missing.backup"):
            code, output = _tend(monkeypatch, url, "restore", str(bad))
            assert code == 1 and "Nothing restored" in output, output

        assert _counts(engine) == before
        assert list(tmp_path.glob("*pre-restore*")) == []
        engine.dispose()


def test_backup_refuses_without_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = _tend(
        monkeypatch, f"sqlite:///{tmp_path / 'none.db'}", "backup", "--out", str(tmp_path / "b")
    )
    assert code == 1 and "No database" in output


@pytest.mark.postgres
def test_postgres_backup_as_a_role_without_createdb_is_checked_before_it_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/deploy.md's roles: neither may create databases. The backup is checked by reading
    # the dump itself (schema revision and rows per table), then renamed into place.
    with private_database("postgresql", tmp_path) as owner_url:
        owner = create_db_engine(owner_url)
        build_world(owner)
        expected_logs, _ = _counts(owner)
        owner.dispose()
        role = f"tend_backup_{uuid.uuid4().hex[:8]}"
        admin_url = owner_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
            admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
            admin.execute(f'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        try:
            out = tmp_path / "tend.dump"
            code, output = _tend(
                monkeypatch, owner_url.replace("postgres@", f"{role}@"), "backup", "--out", str(out)
            )
            assert code == 0, output
            assert out.is_file()
            assert f"practice_log: {expected_logs}" in output and "user: 9" in output
            assert "read from the dump" in output
            assert list(tmp_path.glob(".*partial")) == []
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP OWNED BY "{role}"')
                admin.execute(f'DROP ROLE "{role}"')


def test_the_postgres_password_never_reaches_a_command_line(
    postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import make_url

    from app import backup

    url = make_url(postgres_database).set(password="pw-never-in-argv").render_as_string(False)
    seen: list[tuple[list[str], dict[str, str] | None]] = []
    real_run = backup.subprocess.run

    def spy(command: list[str], **options: object) -> object:
        seen.append((command, options.get("env")))  # type: ignore[arg-type]
        return real_run(command, **options)  # type: ignore[call-overload]

    monkeypatch.setattr(backup.subprocess, "run", spy)
    report = backup.backup(url, tmp_path / "tend.dump")
    assert report.rows and seen
    for command, _env in seen:
        assert not any("pw-never-in-argv" in part for part in command)
    assert any(env and env.get("PGPASSWORD") == "pw-never-in-argv" for _, env in seen)
