"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): STARTTLS required, a login required,
and every message it accepts kept for the test to read.

Use the ``smtp_server`` fixture and give its ``url`` and ``ca_file`` to Settings
(``smtp_url=..., smtp_ca_file=...``); messages arrive in ``smtp_server.messages``.
"""

import datetime
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME = "tend"
PASSWORD = "s3cret/pass"
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Received:
    """One accepted message: the envelope and the parsed email."""

    sender: str
    recipients: list[str]
    email: Message

    @property
    def body(self) -> str:
        payload = self.email.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.original_content),
            )
        )
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USERNAME
        and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


class SmtpTestServer:
    """The running server: ``url`` to send to, ``ca_file`` to trust, ``messages`` received."""

    def __init__(self, directory: Path) -> None:
        cert_file, key_file = _self_signed(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        self.ca_file = cert_file
        self._handler = _Handler()
        self._controller = Controller(
            self._handler,
            hostname=HOST,
            port=_free_port(),
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=_authenticate,
        )

    @property
    def messages(self) -> list[Received]:
        return self._handler.messages

    @property
    def url(self) -> str:
        password = PASSWORD.replace("/", "%2F")
        return (
            f"smtp://{USERNAME}:{password}@{HOST}:{self._controller.port}?from=tend@clinic.example"
        )

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The messages once ``count`` have arrived (delivery runs on the server's thread)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpTestServer]:
    """A real SMTP server on 127.0.0.1 for this test (STARTTLS and login required)."""
    server = SmtpTestServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
