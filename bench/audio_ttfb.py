"""Time to the first audio byte of a range request, on loopback, against a running server.

    TEND_DATA_DIR=/tmp/audio-build-data .venv/bin/tend demo
    TEND_DATA_DIR=/tmp/audio-build-data TEND_PORT=8765 .venv/bin/tend serve &
    .venv/bin/python bench/audio_ttfb.py http://127.0.0.1:8765 P-A01 tend-demo-2026

Each request is timed from sending it to receiving the first byte of the body (status and
headers parsed), on a kept-alive connection (as a browser does while seeking) and on a new
connection each time.
"""

import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlsplit

N = 200


def _login(host: str, port: int, login: str, password: str) -> str:
    conn = http.client.HTTPConnection(host, port)
    body = json.dumps({"login": login, "password": password})
    conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("set-cookie") or ""
    return cookie.split(";")[0]


def _first_byte(conn: http.client.HTTPConnection, url: str, cookie: str, byte_range: str) -> float:
    started = time.perf_counter()
    conn.request("GET", url, headers={"Cookie": cookie, "Range": byte_range})
    response = conn.getresponse()
    first = response.read(1)
    elapsed = time.perf_counter() - started
    response.read()
    assert response.status == 206 and first, response.status
    return elapsed * 1000


def main(base: str, login: str, password: str) -> None:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    cookie = _login(host, port, login, password)
    conn = http.client.HTTPConnection(host, port)
    conn.request("GET", "/api/v1/programme", headers={"Cookie": cookie})
    programme = json.loads(conn.getresponse().read())
    rendition = next(r for w in programme["weeks"] for e in w["exercises"] for r in e["renditions"])
    url = rendition["url"]
    print(f"{url} ({rendition['mime_type']}), {N} requests per case")
    for name, byte_range in (
        ("first bytes (bytes=0-1)", "bytes=0-1"),
        ("middle (bytes=500000-565535)", "bytes=500000-565535"),
        ("last bytes (bytes=-4096)", "bytes=-4096"),
    ):
        kept = [_first_byte(conn, url, cookie, byte_range) for _ in range(N)]
        fresh = []
        for _ in range(N):
            one = http.client.HTTPConnection(host, port)
            fresh.append(_first_byte(one, url, cookie, byte_range))
            one.close()
        for label, times in (("keep-alive", kept), ("new connection", fresh)):
            times.sort()
            print(
                f"  {name}, {label}: median {statistics.median(times):.1f} ms, "
                f"p95 {times[int(0.95 * len(times))]:.1f} ms, max {times[-1]:.1f} ms"
            )


if __name__ == "__main__":
    main(*sys.argv[1:4])
