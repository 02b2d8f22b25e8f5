"""Email to staff over SMTP, always upgraded with STARTTLS before anything is said.

The server comes from ``TEND_SMTP_URL`` (``smtp://user:pass@host:587?from=tend@clinic.example``);
without it nothing is sent and callers carry on. ``TEND_SMTP_CA_FILE`` trusts a clinic's own
relay certificate on top of the system's. Bodies must hold no health data: email leaves the
service's control.
"""

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from app.config import Settings

DEFAULT_PORT = 587
DEFAULT_SENDER = "tend@tend.invalid"
TIMEOUT_SECONDS = 20


class MailError(Exception):
    """The message could not be handed to the SMTP server (the reason, without the password)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str


def parse_smtp_url(url: str) -> SmtpServer:
    """The server in ``smtp://[user:pass@]host[:port][?from=address]``."""
    parts = urlsplit(url)
    if parts.scheme != "smtp" or not parts.hostname:
        raise MailError("TEND_SMTP_URL must look like smtp://user:pass@host:587")
    sender = parse_qs(parts.query).get("from", [DEFAULT_SENDER])[0]
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORT,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )


def is_configured(settings: Settings) -> bool:
    """Whether an SMTP server is set, so email can be sent at all."""
    return bool(settings.smtp_url)


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.smtp_ca_file:
        context.load_verify_locations(cafile=str(settings.smtp_ca_file))
    return context


def send_email(settings: Settings, *, to: Sequence[str], subject: str, body: str) -> None:
    """Send one plain-text email to ``to`` (each sees only their own address). Does nothing
    when SMTP is not configured; raises MailError when the server refuses or cannot be reached."""
    if not is_configured(settings) or not to:
        return
    server = parse_smtp_url(settings.smtp_url)
    try:
        with smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS) as smtp:
            smtp.starttls(context=_tls_context(settings))
            if server.username:
                smtp.login(server.username, server.password or "")
            for address in to:
                smtp.send_message(_message(server.sender, address, subject, body))
    except (OSError, smtplib.SMTPException) as error:
        # The error's class and code only: its text can echo addresses back.
        code = getattr(error, "smtp_code", None)
        raise MailError(f"SMTP failed: {error.__class__.__name__} {code or ''}".strip()) from None


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    return message
