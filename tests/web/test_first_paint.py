"""A page paints as soon as its HTML arrives: the stylesheet travels inside it, allowed by its
hash in the CSP (never 'unsafe-inline'), and its scripts are only named, for a loader (also
allowed by its hash) to fetch once the page has painted."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.web import assets
from tests.factories import World, login

STYLESHEET = assets.STATIC_DIR / "css" / "app.css"
LOADER = re.compile(
    r'<script data-after-paint="([^"]*)" data-preload="([^"]*)">(.*?)</script>', re.S
)


def sha256_source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    raise AssertionError(f"the policy has no {name}: {policy}")


def inline_styles(html: str) -> list[str]:
    return re.findall(r"<style>(.*?)</style>", html, re.S)


@pytest.mark.parametrize(
    ("login_name", "path"),
    [("P-A1", "/today"), ("P-A1", "/progress"), ("fa@one.example", "/groups"), (None, "/login")],
)
def test_every_page_carries_the_stylesheet_allowed_by_its_hash_alone(
    client: TestClient, world: World, login_name: str | None, path: str
) -> None:
    if login_name:
        login(client, login_name)
    response = client.get(path)

    assert response.status_code == 200
    assert inline_styles(response.text) == [STYLESHEET.read_text(encoding="utf-8")]
    # Nothing to download before the first paint (the no-JavaScript sheet is inside <noscript>).
    outside_noscript = re.sub(r"<noscript>.*?</noscript>", "", response.text, flags=re.S)
    assert 'rel="stylesheet"' not in outside_noscript
    policy = response.headers["content-security-policy"]
    assert directive(policy, "style-src") == ["'self'", sha256_source(STYLESHEET.read_text())]
    assert "unsafe-inline" not in policy


def test_today_names_its_scripts_for_after_the_first_paint(
    client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    response = client.get("/today")

    # One script in the page, the loader: nothing is fetched before the first paint.
    assert len(re.findall(r"<script\b", response.text)) == 1
    assert '<link rel="modulepreload"' not in response.text
    loader = LOADER.search(response.text)
    assert loader, "the page carries the after-paint loader"
    scripts, preloads, code = loader.group(1).split(), loader.group(2).split(), loader.group(3)
    policy = response.headers["content-security-policy"]
    assert directive(policy, "script-src") == ["'self'", sha256_source(code)]
    # Hashed, so a phone keeps them for good; app.js's imports fetched alongside it.
    assert sorted(url.split("?v=")[0] for url in scripts) == [
        "/static/js/app.js",
        "/static/js/local-time.js",
    ]
    assert set(preloads) == {"/static/js/outbox.js", "/static/js/player.js", "/static/js/forget.js"}
    for url in scripts + preloads:
        assert client.get(url).status_code == 200, url


def test_a_new_stylesheet_brings_its_own_hash(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deploy with a changed stylesheet: the page and its policy change together.
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "js").mkdir()
    (static / "js" / "after-paint.js").write_text(
        (assets.STATIC_DIR / assets.AFTER_PAINT_LOADER).read_text()
    )
    changed = STYLESHEET.read_text() + "\n.new-rule { color: red; }\n"
    (static / "css" / "app.css").write_text(changed)
    monkeypatch.setattr(assets, "STATIC_DIR", static)

    response = client.get("/login")

    assert inline_styles(response.text) == [changed]
    style_src = directive(response.headers["content-security-policy"], "style-src")
    assert style_src == ["'self'", sha256_source(changed)]
