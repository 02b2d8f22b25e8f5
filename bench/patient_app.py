"""Patient app benchmarks: first-load weight of the patient pages, the offline shell's render
time, the outbox's drain time after reconnecting, and (if installed) Lighthouse.

Run: .venv/bin/python bench/patient_app.py [--lighthouse] [--runs 5] [--logs 20]
(--runs: offline reloads, and Lighthouse runs of each page, each with the load average
before it.)
Needs Debian Chromium (/usr/bin/chromium); Lighthouse from npm (`npm i -E lighthouse@12.2.3`,
on PATH or in LIGHTHOUSE). The patient is the demo clinic's P-A01 (DEMO-A, week 6), served
by the app itself with its own compression.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import clock, migrate
from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import create_db_engine, open_session
from app.demo import DEMO_TIMEZONE, seed_demo
from app.main import create_app
from app.programme import service as programme_service
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, sign_in
from tests.browser.patient_audio import install_test_audio

PATIENT = "P-A01"
PASSWORD = "bench-demo-password"

PAGES = ("/today", "/practice/{exercise}", "/progress", "/reflections")


def serve(tmp: Path) -> tuple[str, Settings]:
    db = tmp / "tend.db"
    migrate.upgrade(f"sqlite:///{db}")
    # The demo reads the process's settings too (the clinic's own questionnaire files under
    # the data directory), so the bench's settings go in the environment, not only in here.
    os.environ.update(
        TEND_ENVIRONMENT="test",
        TEND_DATABASE_URL=f"sqlite:///{db}",
        TEND_DATA_DIR=str(tmp / "data"),
        TEND_SECRET_KEY="bench-secret-key-long-enough",
    )
    get_settings.cache_clear()
    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(
            session,
            programme_service.default_programme_path(PROJECT_ROOT / "audio" / "programmes"),
        )
        seed_demo(session, today=clock.today(DEMO_TIMEZONE), seed=1, password=PASSWORD)
        session.commit()
    install_test_audio(engine, settings.media_dir)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", settings


# The document and its CSS and JS, as Resource Timing saw them: encodedBodySize is the body
# as it travelled (compressed), decodedBodySize after decoding.
_WEIGHTS = """() => [...performance.getEntriesByType('navigation'),
                     ...performance.getEntriesByType('resource')]
  .filter(e => e.entryType === 'navigation' || /\\.(css|js)$/.test(new URL(e.name).pathname))
  .map(e => ({url: new URL(e.name).pathname, encoded: e.encodedBodySize,
              decoded: e.decodedBodySize, transfer: e.transferSize}))"""


def page_weight(page, url: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """HTML, CSS and JS a first visit downloads: bytes on the wire (encoded) and decoded."""
    encodings: dict[str, str] = {}

    def keep(response):  # type: ignore[no-untyped-def]
        encodings[response.url] = response.headers.get("content-encoding", "none")

    page.on("response", keep)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", keep)
    entries = page.evaluate(_WEIGHTS)
    return {
        "files": len(entries),
        "encoded": sum(e["encoded"] for e in entries),
        "decoded": sum(e["decoded"] for e in entries),
        "each": {e["url"]: e["encoded"] for e in entries},
        "content_encodings": sorted(set(encodings.values())),
    }


def lighthouse_run(lighthouse: str, url: str, cookie: str, tmp: Path) -> dict[str, object]:
    """One Lighthouse mobile run (simulated slow 4G): scores, LCP, and the load average just
    before it, since Lighthouse scales the CPU time it observed and the machine is shared."""
    out = tmp / "lh.json"
    load_average = os.getloadavg()[0]
    subprocess.run(
        [
            lighthouse,
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            "--only-categories=performance,accessibility,best-practices",
            "--form-factor=mobile",
            "--throttling-method=simulate",
            "--chrome-flags=--headless=new --no-sandbox",
            "--extra-headers",
            json.dumps({"Cookie": cookie}),
        ],
        check=True,
        env={"CHROME_PATH": CHROMIUM, "PATH": "/usr/bin:/bin", "HOME": str(tmp)},
    )
    report = json.loads(out.read_text())
    audits = report["audits"]
    observed = audits["metrics"]["details"]["items"][0]
    failing = [
        audit["id"]
        for audit in audits.values()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in ("binary", "numeric")
    ]
    return {
        **{name: round(c["score"] * 100) for name, c in report["categories"].items()},
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        # What the unthrottled browser saw: a late paint here means a starved machine.
        "observed_lcp_ms": round(observed["observedLargestContentfulPaint"]),
        "load_average": round(load_average, 1),
        "below_0.9": failing,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lighthouse", action="store_true")
    parser.add_argument("--logs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5, help="offline reloads; Lighthouse runs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="tend-bench-"))
    base, _settings = serve(tmp)
    results: dict[str, object] = {}
    with sync_playwright() as pw:
        # First-load weight: a fresh context (empty caches) per page.
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        sign_in(page, base, PATIENT, PASSWORD)
        programme = page.request.get(f"{base}/api/v1/programme").json()
        current = [week for week in programme["weeks"] if week["unlocked"]][-1]
        exercise = current["exercises"][0]["id"]
        cookies = context.cookies()
        weights = {}
        for path in PAGES:
            fresh = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            fresh.add_cookies(cookies)
            weights[path] = page_weight(fresh.new_page(), base + path.format(exercise=exercise))
            fresh.close()
        results["first_load"] = weights
        session_cookie = next(c for c in cookies if c["name"] == "tend_session")["value"]
        browser.close()

        # Offline: the shell from the worker's cache, and the outbox draining on reconnect.
        context = pw.chromium.launch_persistent_context(
            str(tmp / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
        )
        page = context.pages[0]
        sign_in(page, base, PATIENT, PASSWORD)
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        page.reload()
        page.wait_for_function("() => navigator.serviceWorker.controller?.state === 'activated'")
        context.set_offline(True)
        renders = []
        for _ in range(args.runs):
            page.reload()
            renders.append(
                page.evaluate(
                    "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
                )
            )
        results["offline_shell_dom_content_loaded_ms"] = {
            "runs": [round(r) for r in renders],
            "median": round(statistics.median(renders)),
        }
        page.evaluate(
            """async (n) => {
          const { logPractice, localNow } = await import('/static/js/outbox.js');
          for (let i = 0; i < n; i++) {
            await logPractice({ id: crypto.randomUUID(), kind: 'own', ...localNow(),
              listened_seconds: 600, completed: true }, 'bench');
          }
        }""",
            args.logs,
        )
        start = time.monotonic()
        context.set_offline(False)
        page.wait_for_function(
            "() => document.getElementById('outbox-card').hidden", timeout=60000, polling=20
        )
        results["outbox_drain"] = {"logs": args.logs, "seconds": round(time.monotonic() - start, 2)}
        context.close()

    lighthouse = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    if args.lighthouse and lighthouse:
        cookie = f"tend_session={session_cookie}"
        results["lighthouse"] = {
            path: [
                lighthouse_run(lighthouse, base + path.format(exercise=exercise), cookie, tmp)
                for _ in range(args.runs)
            ]
            for path in PAGES
        }
    print(json.dumps(results, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
