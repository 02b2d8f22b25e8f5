"""Web Push with VAPID: make the server's key pair, send one encrypted message, and say what
the push service's answer means (sent, gone for good, try again later, or give up).

No database and no web framework here; app/reminders/service.py decides what to send.
"""

import base64
import json
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

REQUEST_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


class Outcome(StrEnum):
    sent = "sent"
    gone = "gone"  # 404/410: the subscription has expired or was withdrawn
    retry = "retry"  # 429, 5xx or no answer: the push service may take it later
    failed = "failed"  # any other refusal: sending again would not help


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status_code: int | None = None
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class Message:
    """What the notification shows and where tapping it leads (a path in the app)."""

    title: str
    body: str
    url: str
    tag: str

    def to_json(self) -> str:
        return json.dumps(
            {"title": self.title, "body": self.body, "url": self.url, "tag": self.tag},
            separators=(",", ":"),
        )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def generate_vapid_key() -> tuple[str, str]:
    """A new VAPID key pair: (private key PEM, public key as the browser wants it, base64url)."""
    vapid = Vapid()
    vapid.generate_keys()
    pem = vapid.private_pem().decode("ascii")
    return pem, public_key_of(vapid)


def public_key_of(vapid: Vapid) -> str:
    """The uncompressed P-256 public point, base64url: the page's applicationServerKey."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw)


def load_vapid(private_key_pem: str) -> Vapid:
    """The signing key from its stored PEM."""
    return Vapid.from_pem(private_key_pem.encode("ascii"))


def _parse_retry_after(value: str | None) -> timedelta | None:
    if value and value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    return None


def classify(status_code: int, retry_after: str | None = None) -> SendResult:
    """What a push service's HTTP status means for this subscription."""
    if status_code in (200, 201, 202):
        return SendResult(Outcome.sent, status_code)
    if status_code in (404, 410):
        return SendResult(Outcome.gone, status_code)
    if status_code == 429 or status_code >= 500:
        return SendResult(Outcome.retry, status_code, _parse_retry_after(retry_after))
    return SendResult(Outcome.failed, status_code)


def send(
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    message: Message,
    vapid: Vapid,
    contact: str,
    ttl_seconds: int,
    session: requests.Session | None = None,
) -> SendResult:
    """Encrypt ``message`` for one subscription (RFC 8291, aes128gcm) and post it."""
    try:
        response = webpush(
            subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=message.to_json(),
            vapid_private_key=vapid,
            # A fresh dict each time: pywebpush writes the audience of this endpoint into it.
            vapid_claims={"sub": contact},
            ttl=ttl_seconds,
            timeout=REQUEST_TIMEOUT_SECONDS,
            headers={"Urgency": "normal", "Topic": message.tag},
            requests_session=session,
        )
    except WebPushException as error:
        if error.response is None:
            return SendResult(Outcome.failed)
        return classify(error.response.status_code, error.response.headers.get("Retry-After"))
    except requests.RequestException:
        return SendResult(Outcome.retry)
    status = getattr(response, "status_code", 201)
    return classify(int(status))


def backoff(attempts: int, retry_after: timedelta | None = None) -> timedelta:
    """How long to wait before try number ``attempts + 1``: doubling, capped, or as asked."""
    delay = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_CAP))
    return delay
