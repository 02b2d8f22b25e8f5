"""`tend doctor`: each check passes on a sound deployment and fails, saying what to do, on a
broken one."""

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from sqlalchemy import Engine, create_engine
from sqlmodel import select
from starlette.types import ASGIApp, Receive, Scope, Send
from typer.testing import CliRunner

from app import doctor
from app.cli import cli
from app.config import DEVELOPMENT_SECRET, PROJECT_ROOT, Settings, get_settings
from app.db import create_db_engine, open_session
from app.main import create_app
from app.programme.models import Exercise
from app.reminders import push
from app.reminders import service as reminders_service
from app.reminders.models import VapidKey
from tests.conftest import POSTGRES_ADMIN_URL
from tests.factories import FIXTURE_PROGRAMME, add_ready_recording
from tests.mail_server import SmtpTestServer

DEPLOY = PROJECT_ROOT / "docs" / "deploy.md"
SECRET = "a-long-random-production-secret-0123456789abcdef"


@pytest.fixture
def production(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"environment": "production", "secret_key": SECRET, "reminders_in_process": False}
    )


@pytest.mark.postgres
def test_the_documented_role_reaches_tables_a_later_migration_adds(
    postgres_database: str, postgres_app_role: str
) -> None:
    database = postgres_database.rsplit("/", 1)[1]
    owner_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute("CREATE TABLE added_by_a_later_migration (id serial PRIMARY KEY, note text)")
    app = create_engine(postgres_app_role)
    with app.begin() as connection:
        connection.exec_driver_sql("INSERT INTO added_by_a_later_migration (note) VALUES ('x')")
        assert (
            connection.exec_driver_sql("SELECT count(*) FROM added_by_a_later_migration").scalar()
            == 1
        )
    app.dispose()


def test_the_command_prints_one_line_per_failure_and_exits_non_zero(
    settings: Settings, app_role_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEND_DATABASE_URL", app_role_url)
    monkeypatch.setenv("TEND_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TEND_ENVIRONMENT", "test")
    monkeypatch.delenv("TEND_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    failing = CliRunner().invoke(cli, ["doctor"])
    assert failing.exit_code == 1
    assert failing.output.splitlines()[:2] == [
        "FAIL secret: TEND_SECRET_KEY is the development default: set a long random value "
        "(python -c 'import secrets; print(secrets.token_urlsafe(48))').",
        "FAIL environment: TEND_ENVIRONMENT is test: set it to production.",
    ]

    monkeypatch.setenv("TEND_ENVIRONMENT", "production")
    monkeypatch.setenv("TEND_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    passing = CliRunner().invoke(cli, ["doctor"])
    get_settings.cache_clear()
    assert passing.exit_code == 0, passing.output
    assert passing.output.strip() == "8 of 8 checks passed."


def test_secret_and_environment(settings: Settings, production: Settings) -> None:
    assert doctor.check_secret(production) is None
    assert doctor.check_environment(production) is None
    development = settings.model_copy(update={"secret_key": DEVELOPMENT_SECRET})
    assert "development default" in (doctor.check_secret(development) or "")
    short = settings.model_copy(update={"secret_key": "short"})
    assert "shorter than 32" in (doctor.check_secret(short) or "")
    assert "set it to production" in (doctor.check_environment(settings) or "")


def test_durability_of_the_app_engine_passes_and_a_lax_one_fails(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    assert doctor.check_durability(engine) is None
    if engine.dialect.name == "sqlite":
        lax = create_engine(f"sqlite:///{tmp_path / 'lax.db'}")  # none of Tend's pragmas
        expected = "expected wal and 2 (FULL)"
    else:
        url = database_url.replace("postgresql+psycopg", "postgresql+psycopg")
        lax = create_engine(url, connect_args={"options": "-c synchronous_commit=off"})
        expected = "synchronous_commit=off"
    assert expected in (doctor.check_durability(lax) or "")
    lax.dispose()


def test_migrations_current_passes_and_an_unmigrated_database_fails(
    engine: Engine, tmp_path: Path
) -> None:
    assert doctor.check_migrations(engine) is None
    empty = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert "run tend migrate" in (doctor.check_migrations(empty) or "")
    empty.dispose()


@pytest.mark.postgres
def test_the_app_role_must_not_own_the_audit_table(
    postgres_database: str, postgres_app_role: str
) -> None:
    owner = create_db_engine(postgres_database)
    app_role = create_db_engine(postgres_app_role)
    assert "owns audit_event" in (doctor.check_audit_owner(owner) or "")
    assert doctor.check_audit_owner(app_role) is None
    owner.dispose()
    app_role.dispose()


def test_data_directory_parts_must_be_writable(settings: Settings) -> None:
    assert doctor.check_data_directory(settings) is None  # not made yet, but can be
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "uploads").write_text("a file where a folder should be")
    problem = doctor.check_data_directory(settings) or ""
    assert f"not writable by this user: {settings.data_dir / 'uploads'}" in problem


def test_media_files_the_database_serves_must_be_on_this_machine(
    engine: Engine, settings: Settings
) -> None:
    from app.programme import service as programme_service

    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(session, FIXTURE_PROGRAMME)
        exercise = session.exec(select(Exercise)).first()
        assert exercise is not None
        add_ready_recording(
            session, exercise_id=exercise.id or 0, filename="breathing-abc123.opus", size_bytes=4
        )
        session.commit()
    problem = doctor.check_media(settings, engine) or ""
    assert "1 of 1 audio files" in problem and "media/ must be one shared volume" in problem
    settings.media_dir.mkdir(parents=True)
    (settings.media_dir / "breathing-abc123.opus").write_bytes(b"opus")
    assert doctor.check_media(settings, engine) is None


def test_the_newest_backup_must_be_recent(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    assert "no backup in" in (doctor.check_backup_age(backups) or "")
    backups.mkdir()
    old = backups / "tend-2026-12-01.db"
    old.write_bytes(b"x")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    assert "is 48 hours old" in (doctor.check_backup_age(backups) or "")
    (backups / "tend-2026-12-05.db").write_bytes(b"x")
    assert doctor.check_backup_age(backups) is None


def test_vapid_key_absent_or_sound_passes_and_a_mismatched_one_fails(engine: Engine) -> None:
    assert doctor.check_vapid(engine) is None
    with open_session(engine, write=True) as session:
        reminders_service.ensure_vapid_key(session)
        session.commit()
    assert doctor.check_vapid(engine) is None
    with open_session(engine, write=True) as session:
        key = session.get(VapidKey, 1)
        assert key is not None
        # Another key pair's public half: always well formed, never this private key's. (Editing
        # characters of the stored key changed nothing about 1 run in 16.)
        key.public_key = push.generate_vapid_key()[1]
        session.add(key)
        session.commit()
    assert "does not match" in (doctor.check_vapid(engine) or "")


# --- Over the network: a TLS certificate the test trusts, a real server ---


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate


class _PlainHttpBehindTheProxy:
    """The app as it runs behind a proxy that neither says the client used HTTPS nor passes
    the browser's Accept-Encoding on (so nothing comes back compressed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
            scope = {**scope, "scheme": "http", "headers": headers}
        await self.app(scope, receive, send)


@pytest.fixture
def serve_tls(trusted: tuple[Path, Path]) -> Iterator[object]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: ASGIApp) -> str:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            ssl_certfile=str(trusted[0]),
            ssl_keyfile=str(trusted[1]),
            log_level="warning",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        servers.append((server, thread))
        return f"https://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def test_proxy_headers_pass_over_https_with_compression(production: Settings, serve_tls) -> None:  # type: ignore[no-untyped-def]
    # Tend compresses its own answers; a proxy that passes Accept-Encoding on keeps that.
    url = serve_tls(create_app(production))
    assert doctor.check_proxy(url) is None


def test_proxy_that_hides_https_and_does_not_compress_fails(
    production: Settings, serve_tls
) -> None:  # type: ignore[no-untyped-def]
    url = serve_tls(_PlainHttpBehindTheProxy(create_app(production)))
    problem = doctor.check_proxy(url) or ""
    assert "no HSTS header" in problem and "not compressed" in problem
    assert "is not an https:// address" in (doctor.check_proxy("http://127.0.0.1:9") or "")


def test_smtp_that_takes_the_login_over_starttls_passes(
    settings: Settings, smtp_server: SmtpTestServer
) -> None:
    sound = settings.model_copy(
        update={"smtp_url": smtp_server.url, "smtp_ca_file": smtp_server.ca_file}
    )
    assert doctor.check_smtp(sound) is None
    assert smtp_server.messages == []  # nothing was sent


def test_smtp_with_a_wrong_password_no_starttls_or_no_server_fails(
    settings: Settings, smtp_server: SmtpTestServer
) -> None:
    wrong = settings.model_copy(
        update={
            "smtp_url": smtp_server.url.replace("s3cret", "wrong"),
            "smtp_ca_file": smtp_server.ca_file,
        }
    )
    problem = doctor.check_smtp(wrong) or ""
    assert "refused or did not answer (SMTPAuthenticationError 535)" in problem
    assert "wrong" not in problem
    plain = Controller(Sink(), hostname="127.0.0.1", port=_free_port())
    plain.start()
    try:
        no_tls = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{plain.port}"})
        assert "does not offer STARTTLS" in (doctor.check_smtp(no_tls) or "")
    finally:
        plain.stop()
    nobody = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{_free_port()}"})
    assert "refused or did not answer (ConnectionRefusedError)" in (doctor.check_smtp(nobody) or "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
