"""Text answers travel compressed (Brotli, else gzip); files once per version; never audio."""

import gzip
import re

import brotli
from fastapi.testclient import TestClient

from tests.factories import World, login


def raw_get(client: TestClient, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the bytes as they travelled (httpx would decode them for us)."""
    with client.stream("GET", url, headers=headers) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())


def app_script_url(client: TestClient) -> str:
    page = client.get("/today").text
    found = re.search(r"(/static/js/app\.js\?v=[0-9a-f]+)", page)
    assert found, "the page names its script by content hash"
    return found.group(1)


def test_the_today_page_travels_in_brotli_or_gzip(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    plain = client.get("/today", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["vary"]

    status, headers, body = raw_get(client, "/today", **{"Accept-Encoding": "gzip, br"})
    assert status == 200 and headers["content-encoding"] == "br"
    assert "Accept-Encoding" in headers["vary"]
    html = brotli.decompress(body).decode()
    assert "<h1" in html and len(body) < len(html) / 3
    assert int(headers["content-length"]) == len(body)

    _, headers, body = raw_get(client, "/today", **{"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip" and "<h1" in gzip.decompress(body).decode()
    # A browser that refuses Brotli by q=0 gets gzip.
    _, headers, _ = raw_get(client, "/today", **{"Accept-Encoding": "br;q=0, gzip;q=0.5"})
    assert headers["content-encoding"] == "gzip"


def test_json_is_compressed_and_tiny_answers_are_not(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    _, headers, body = raw_get(client, "/api/v1/programme", **{"Accept-Encoding": "br"})
    assert headers["content-encoding"] == "br"
    assert brotli.decompress(body).startswith(b"{")
    _, headers, body = raw_get(client, "/healthz", **{"Accept-Encoding": "br"})
    assert "content-encoding" not in headers and body.startswith(b"{")


def test_static_files_are_precompressed_once_per_version(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    url = app_script_url(client)
    original = client.get(url, headers={"Accept-Encoding": "identity"}).content
    status, first_headers, first = raw_get(client, url, **{"Accept-Encoding": "br"})
    _, _, again = raw_get(client, url, **{"Accept-Encoding": "br"})
    assert status == 200 and first_headers["content-encoding"] == "br"
    assert brotli.decompress(first) == original and again == first
    # Compressed at the highest setting: smaller than the on-the-fly setting makes it.
    assert len(first) < len(brotli.compress(original, quality=5))
    # The validator says "same content, other encoding"; a revalidation still gets a 304.
    etag = first_headers["etag"]
    assert etag.startswith("W/")
    revalidated = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert revalidated.status_code == 304


def test_a_range_request_is_never_compressed(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    url = app_script_url(client)
    status, headers, body = raw_get(client, url, **{"Accept-Encoding": "br", "Range": "bytes=0-99"})
    assert status == 206 and "content-encoding" not in headers and len(body) == 100
