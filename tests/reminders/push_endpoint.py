"""A stand-in push service for tests: a small HTTP server on 127.0.0.1 that records every
message and answers with the statuses a test scripts; plus a browser-side subscription (key
pair and auth secret made by the test) and RFC 8291 decryption to read what arrived."""

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushEndpoint:
    """Records POSTs; ``script[path]`` lists the statuses to answer in turn (then 201)."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.base_url}/push/{name}"

    def to(self, name: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == f"/push/{name}"]

    def answers(self, name: str, *statuses: int) -> None:
        self.script[f"/push/{name}"] = list(statuses)


@contextmanager
def push_endpoint() -> Iterator[PushEndpoint]:
    endpoint = PushEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with endpoint.lock:
                endpoint.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                queue = endpoint.script.get(self.path, [])
                status = queue.pop(0) if queue else 201
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "120")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class BrowserSubscription:
    """What a browser makes when it subscribes: a P-256 key pair and a 16-byte auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @classmethod
    def new(cls, endpoint: str) -> "BrowserSubscription":
        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def to_json(self) -> dict[str, object]:
        keys = {"p256dh": b64url(self.public_raw), "auth": b64url(self.auth_secret)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}

    def decrypt(self, body: bytes) -> dict[str, object]:
        """RFC 8291 (aes128gcm, RFC 8188 framing), written out here independently of the
        library that encrypted it."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        server_public = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert len(ciphertext) <= record_size, "one record expected for a small message"
        server_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public)
        shared = self.private_key.exchange(ec.ECDH(), server_key)

        def extract(salt_: bytes, ikm: bytes) -> bytes:
            mac = hmac.HMAC(salt_, hashes.SHA256())
            mac.update(ikm)
            return mac.finalize()

        def expand(prk: bytes, info: bytes, length: int) -> bytes:
            return HKDFExpand(hashes.SHA256(), length, info).derive(prk)

        key_info = b"WebPush: info\x00" + self.public_raw + server_public
        ikm = expand(extract(self.auth_secret, shared), key_info, 32)
        prk = extract(salt, ikm)
        cek = expand(prk, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = expand(prk, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        unpadded = padded.rstrip(b"\x00")
        assert unpadded.endswith(b"\x02"), "last record delimiter"
        return json.loads(unpadded[:-1])


def verify_vapid(authorization: str, *, public_key: str, audience: str) -> dict[str, object]:
    """Check the VAPID header (RFC 8292): the JWT is signed by ``public_key`` for ``audience``."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme.lower() == "vapid"
    params = dict(part.strip().split("=", 1) for part in rest.split(","))
    assert params["k"] == public_key
    header, payload, signature = params["t"].split(".")
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, object] = json.loads(unb64url(payload))
    assert claims["aud"] == audience
    return claims
