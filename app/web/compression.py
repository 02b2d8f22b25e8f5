"""Compression of text answers: Brotli or gzip, whichever the browser prefers.

Pages and JSON are compressed as they are sent, at a quick setting. Static CSS and JS (and
the service worker and manifest) are compressed once per content version at the highest
setting, off the event loop, and kept: their URLs carry the content hash, so a version never
changes. Audio, requests with `Range` and partial answers pass untouched: a compressed byte
range is useless to a player that seeks, and Opus and AAC do not shrink.
"""

import hashlib
import zlib
from typing import Protocol

import anyio
import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE_TYPES = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "application/fhir+json",
        "image/svg+xml",
        "text/plain",
    }
)
# Below this, the encoding's own framing and the extra header outweigh what is saved.
MIN_BYTES = 512
# Answers that are files in the repository: the same bytes every time until a deploy.
PRECOMPRESSED_PREFIXES = ("/static/", "/sw.js", "/manifest.webmanifest")
# Brotli 5 and gzip 6 cost about a millisecond for a 25 KB page on the development machine;
# 11 and 9 are for files compressed once.
_QUICK = {"br": 5, "gzip": 6}
_BEST = {"br": 11, "gzip": 9}
_MAX_KEPT = 256


class _Encoder(Protocol):
    def add(self, chunk: bytes) -> bytes: ...
    def end(self) -> bytes: ...


class _Brotli:
    def __init__(self, quality: int) -> None:
        self._compressor = brotli.Compressor(quality=quality)

    def add(self, chunk: bytes) -> bytes:
        return bytes(self._compressor.process(chunk))

    def end(self) -> bytes:
        return bytes(self._compressor.finish())


class _Gzip:
    def __init__(self, level: int) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip framing

    def add(self, chunk: bytes) -> bytes:
        return self._compressor.compress(chunk)

    def end(self) -> bytes:
        return self._compressor.flush()


def _encoder(encoding: str, level: int) -> _Encoder:
    return _Brotli(level) if encoding == "br" else _Gzip(level)


def compress(body: bytes, encoding: str, *, best: bool = False) -> bytes:
    """The whole body in ``encoding`` (``br`` or ``gzip``)."""
    encoder = _encoder(encoding, (_BEST if best else _QUICK)[encoding])
    return encoder.add(body) + encoder.end()


def choose_encoding(accept_encoding: str) -> str | None:
    """Brotli if the browser takes it, else gzip, else None (RFC 9110 q-values; q=0 refuses)."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip().replace(" ", "")
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        accepted[name.strip().lower()] = quality
    for encoding in ("br", "gzip"):
        if accepted.get(encoding, accepted.get("*", 0.0)) > 0:
            return encoding
    return None


_kept: dict[tuple[str, str], bytes] = {}


async def _precompressed(body: bytes, encoding: str) -> bytes:
    # Keyed by the content itself, so a new version of a file is compressed anew and an old
    # one is never served for it. Kept per process: a cache, nothing another worker needs.
    key = (encoding, hashlib.sha256(body).hexdigest())
    found = _kept.get(key)
    if found is None:
        found = await anyio.to_thread.run_sync(lambda: compress(body, encoding, best=True))
        if len(_kept) >= _MAX_KEPT:
            _kept.clear()
        _kept[key] = found
    return found


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _add_vary(headers: MutableHeaders) -> None:
    vary = headers.get("vary", "")
    if "accept-encoding" not in vary.lower():
        headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


class CompressionMiddleware:
    """Compress text answers the browser can decode (pure ASGI; see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        encoding = None
        if "range" not in request_headers:
            encoding = choose_encoding(request_headers.get("accept-encoding", ""))
        path: str = scope["path"]
        whole = path.startswith(PRECOMPRESSED_PREFIXES)
        await _CompressingResponse(self.app, encoding, whole=whole)(scope, receive, send)


class _CompressingResponse:
    """One answer on its way out: passed through, compressed as it streams, or (a file)
    gathered and replaced by its precompressed version."""

    def __init__(self, app: ASGIApp, encoding: str | None, *, whole: bool) -> None:
        self.app = app
        self.encoding = encoding
        self.whole = whole
        self.start: Message | None = None
        self.passing = True
        self.encoder: _Encoder | None = None
        self.gathered: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        await self.app(scope, receive, self.on_message)

    async def on_message(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.passing = not self._worth_compressing(message)
            if self.passing:
                await self.send(message)
            else:
                self.start = message  # held until we know the body's size
            return
        if message["type"] != "http.response.body" or self.passing:
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        if self.whole:
            self.gathered.append(body)
            if not more:
                content = b"".join(self.gathered)
                small = len(content) < MIN_BYTES
                await self._send_whole(content, None if small else await self._file(content))
            return
        if self.encoder is None and not more:  # the whole answer in one message
            small = len(body) < MIN_BYTES
            await self._send_whole(body, None if small else compress(body, self._encoding))
            return
        if self.encoder is None:
            self.encoder = _encoder(self._encoding, _QUICK[self._encoding])
            await self._send_start(length=None)
        chunk = self.encoder.add(body) + (b"" if more else self.encoder.end())
        await self.send({"type": "http.response.body", "body": chunk, "more_body": more})

    @property
    def _encoding(self) -> str:
        assert self.encoding is not None
        return self.encoding

    async def _file(self, content: bytes) -> bytes:
        return await _precompressed(content, self._encoding)

    def _worth_compressing(self, start: Message) -> bool:
        headers = MutableHeaders(scope=start)
        if _media_type(headers) not in COMPRESSIBLE_TYPES:
            return False
        _add_vary(headers)  # also when not compressed: a shared cache must keep both apart
        if self.encoding is None or start["status"] in (204, 206, 304):
            return False
        if "content-encoding" in headers or "content-range" in headers:
            return False
        length = headers.get("content-length")
        return length is None or int(length) >= MIN_BYTES

    async def _send_whole(self, original: bytes, compressed: bytes | None) -> None:
        if compressed is None:
            await self._send_start(length=len(original), encoded=False)
            await self.send({"type": "http.response.body", "body": original})
            return
        await self._send_start(length=len(compressed))
        await self.send({"type": "http.response.body", "body": compressed})

    async def _send_start(self, *, length: int | None, encoded: bool = True) -> None:
        assert self.start is not None
        headers = MutableHeaders(scope=self.start)
        if encoded:
            headers["Content-Encoding"] = self._encoding
            etag = headers.get("etag")
            if etag and not etag.startswith("W/"):
                # Another representation of the same content: a weak validator (as nginx does);
                # Starlette's 304 check still matches it.
                headers["ETag"] = f"W/{etag}"
        if length is None:
            del headers["content-length"]
        else:
            headers["Content-Length"] = str(length)
        await self.send(self.start)
