"""`tend doctor`: check a deployment the way its operator would, one finding per problem.

Each check returns None when all is well, or one line: what is wrong, then what to do. The
checks read the same settings and database the server uses; with ``--url`` they also ask the
public address what a phone would see behind the reverse proxy.
"""

import http.client
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, text
from sqlmodel import col, select

from app import clock, mail, migrate
from app.audio.models import AudioAsset, AudioRendition, AudioStatus
from app.config import DEVELOPMENT_SECRET, Settings
from app.db import open_session
from app.reminders import push
from app.reminders.models import VapidKey

# Daily backups: a day's grace for a slow run before the newest one counts as stale.
BACKUP_MAX_AGE = timedelta(hours=26)
MIN_SECRET_LENGTH = 32
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Finding:
    check: str
    problem: str | None  # None: passed

    @property
    def passed(self) -> bool:
        return self.problem is None


def run_checks(settings: Settings, engine: Engine, *, url: str | None = None) -> list[Finding]:
    """Every check that applies to this deployment, in the order an operator fixes them."""
    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("secret", lambda: check_secret(settings)),
        ("environment", lambda: check_environment(settings)),
        ("durability", lambda: check_durability(engine)),
        ("audit owner", lambda: check_audit_owner(engine)),
        ("migrations", lambda: check_migrations(engine)),
        ("data directory", lambda: check_data_directory(settings)),
        ("media", lambda: check_media(settings, engine)),
    ]
    if settings.backup_dir is not None:
        backup_dir = settings.backup_dir
        checks.append(("backup", lambda: check_backup_age(backup_dir)))
    if url:
        checks.append(("proxy", lambda: check_proxy(url)))
    checks.append(("vapid", lambda: check_vapid(engine)))
    if settings.smtp_url:
        checks.append(("smtp", lambda: check_smtp(settings)))
    return [Finding(name, _run(check)) for name, check in checks]


def _run(check: Callable[[], str | None]) -> str | None:
    try:
        return check()
    except Exception as error:  # a check that cannot run is a finding, not a crash
        first_line = (str(error).splitlines() or [""])[0]
        return f"could not check ({error.__class__.__name__}: {first_line})."


def check_secret(settings: Settings) -> str | None:
    if settings.secret_key == DEVELOPMENT_SECRET:
        return (
            "TEND_SECRET_KEY is the development default: set a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    if len(settings.secret_key) < MIN_SECRET_LENGTH:
        return f"TEND_SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters: make it longer."
    return None


def check_environment(settings: Settings) -> str | None:
    if settings.environment != "production":
        return f"TEND_ENVIRONMENT is {settings.environment}: set it to production."
    return None


def check_durability(engine: Engine) -> str | None:
    """A 201 must mean the row survives a crash: WAL + FULL, or fsync + synchronous_commit."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            journal = connection.execute(text("PRAGMA journal_mode")).scalar()
            synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
            if str(journal).lower() != "wal" or synchronous != 2:
                return (
                    f"SQLite runs with journal_mode={journal}, synchronous={synchronous}: "
                    "expected wal and 2 (FULL); is another program opening the database?"
                )
            return None
        fsync = connection.execute(text("SHOW fsync")).scalar()
        synchronous_commit = connection.execute(text("SHOW synchronous_commit")).scalar()
    if fsync != "on" or synchronous_commit != "on":
        return (
            f"PostgreSQL has fsync={fsync}, synchronous_commit={synchronous_commit}: set both to "
            "on in postgresql.conf, or a crash can lose practice logs the phones were told "
            "were saved."
        )
    return None


def check_audit_owner(engine: Engine) -> str | None:
    """The app's role must not own audit_event: an owner can drop its append-only triggers."""
    if engine.dialect.name != "postgresql":
        return None  # SQLite has no roles: protect the file's permissions instead
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT tableowner, current_user FROM pg_tables "
                "WHERE tablename = 'audit_event' AND schemaname = current_schema()"
            )
        ).first()
    if row is not None and row[0] == row[1]:
        return (
            f"the app connects as {row[1]}, which owns audit_event and could drop its "
            "triggers: migrate as an owner role and serve as another (docs/deploy.md)."
        )
    return None


def check_migrations(engine: Engine) -> str | None:
    with engine.connect() as connection:
        current = migrate.current_revision(connection)
    head = migrate.head_revision()
    if current != head:
        return f"the database is at schema {current}, this Tend expects {head}: run tend migrate."
    return None


def check_data_directory(settings: Settings) -> str | None:
    """media/ (rendered audio), uploads/ (clinic recordings), instruments/ (the clinic's own)."""
    blocked = [
        str(part)
        for part in (
            settings.media_dir,
            settings.data_dir / "uploads",
            settings.data_dir / "instruments",
        )
        if not _writable(part)
    ]
    if blocked:
        return (
            f"not writable by this user: {', '.join(blocked)}: give the service's user write "
            "access (TEND_DATA_DIR)."
        )
    return None


def _writable(path: Path) -> bool:
    """Writable, or creatable: the nearest existing folder above it is writable."""
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def check_media(settings: Settings, engine: Engine) -> str | None:
    """Every rendition the database serves is in this machine's media/ (several machines
    must share one media/: see docs/deploy.md, Media)."""
    with open_session(engine) as session:
        names = session.exec(
            select(AudioRendition.filename)
            .join(AudioAsset, col(AudioAsset.id) == AudioRendition.asset_id)
            .where(AudioAsset.status == AudioStatus.ready)
        ).all()
    missing = [name for name in names if not (settings.media_dir / name).is_file()]
    if missing:
        return (
            f"{len(missing)} of {len(names)} audio files the database serves are missing from "
            f"{settings.media_dir} (e.g. {missing[0]}): with several machines, media/ must be "
            "one shared volume; on one machine, restore media/ from the backup or run "
            "tend audio build."
        )
    return None


def check_backup_age(backup_dir: Path) -> str | None:
    files = [p for p in backup_dir.iterdir() if p.is_file()] if backup_dir.is_dir() else []
    if not files:
        return f"no backup in {backup_dir}: schedule tend backup (docs/deploy.md, Backups)."
    newest = max(files, key=lambda p: p.stat().st_mtime)
    age = clock.now().timestamp() - newest.stat().st_mtime
    if age > BACKUP_MAX_AGE.total_seconds():
        return (
            f"the newest backup, {newest.name}, is {age / 3600:.0f} hours old: check that the "
            "daily tend backup runs."
        )
    return None


def check_proxy(url: str) -> str | None:
    """What a phone sees at the public address: HTTPS with HSTS (so the app knows the scheme
    and marks its cookies Secure) and compressed text."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"{url} is not an https:// address: give the address phones use."
    problems = []
    login = _headers(parts.hostname, parts.port, "/login")
    if "max-age" not in login.get("Strict-Transport-Security", ""):
        problems.append(
            "no HSTS header: the proxy must send X-Forwarded-Proto and its address be in "
            "TEND_FORWARDED_ALLOW_IPS (the app then also marks cookies Secure)"
        )
    cookies = login.get_all("Set-Cookie") or []
    if any("secure" not in cookie.lower() for cookie in cookies):
        problems.append("a cookie without Secure: see TEND_FORWARDED_ALLOW_IPS")
    # Pages carry their stylesheet (app/web/assets.py): the sign-in page is the one to check.
    if login.get("Content-Encoding", "") not in ("gzip", "br", "zstd"):
        problems.append("pages are not compressed: turn on gzip or brotli in the proxy")
    return "; ".join(problems) + "." if problems else None


def _headers(host: str, port: int | None, path: str) -> http.client.HTTPMessage:
    """The headers of a GET over HTTPS, asking for a compressed answer as browsers do."""
    connection = http.client.HTTPSConnection(
        host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
    )
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip, br"})
        response = connection.getresponse()
        response.read()
        return response.headers
    finally:
        connection.close()


def check_vapid(engine: Engine) -> str | None:
    """The stored VAPID key (made on first use) loads and matches its public half."""
    with open_session(engine) as session:
        key = session.get(VapidKey, 1)
    if key is None:
        return None  # made when the first phone asks for reminders
    if push.public_key_of(push.load_vapid(key.private_key_pem)) != key.public_key:
        return "the stored VAPID key pair does not match: phones' reminders will be refused."
    return None


def check_smtp(settings: Settings) -> str | None:
    """The mail server answers, upgrades with STARTTLS (as app/mail.py always does) and takes
    the credentials; nothing is sent."""
    try:
        server = mail.parse_smtp_url(settings.smtp_url)
    except mail.MailError as error:
        return f"{error}."
    context = ssl.create_default_context()
    if settings.smtp_ca_file:
        context.load_verify_locations(cafile=str(settings.smtp_ca_file))
    try:
        with smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                return f"{server.host}:{server.port} does not offer STARTTLS: Tend will not send."
            smtp.starttls(context=context)
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.noop()
    except (OSError, smtplib.SMTPException) as error:
        # The class and code only, like app/mail.py: the text can echo the credentials.
        code = getattr(error, "smtp_code", "")
        return (
            f"the mail server {server.host}:{server.port} refused or did not answer "
            f"({error.__class__.__name__} {code}".rstrip()
            + "): check TEND_SMTP_URL."
        )
    return None
