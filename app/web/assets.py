"""Static files as pages use them: hashed URLs, the stylesheet written into each page, the
scripts loaded after the first paint, and the hashes that let the CSP allow those two inline.

A phone on a slow connection paints a page as soon as its HTML arrives when nothing else
has to come first: the stylesheet travels inside the page (about 5 KB compressed), and
the scripts, which only enhance a page that already works, are fetched once it is painted.
Each inline text is a file under static/, read once per version; its sha256 goes in the
Content-Security-Policy, so no other inline style or script ever runs.
"""

import base64
import hashlib
from functools import lru_cache

from markupsafe import Markup

from app.config import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"
STYLESHEET = "css/app.css"
# Fetches the scripts named on its element once the page has painted (see the file).
AFTER_PAINT_LOADER = "js/after-paint.js"


@lru_cache(maxsize=256)
def _hashed(path: str, mtime_ns: int) -> str:
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


def static_url(path: str) -> str:
    """The URL of a static file with a content hash, so browsers may cache it for good."""
    file = STATIC_DIR / path
    return _hashed(path, file.stat().st_mtime_ns) if file.is_file() else f"/static/{path}"


@lru_cache(maxsize=8)
def _inline(path: str, mtime_ns: int) -> tuple[Markup, str]:
    text = (STATIC_DIR / path).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return Markup(text), f"'sha256-{digest}'"


def _current(path: str) -> tuple[Markup, str]:
    """A static file's text and its CSP hash source, as the file is now (a deploy changes it)."""
    return _inline(path, (STATIC_DIR / path).stat().st_mtime_ns)


def inline_stylesheet() -> Markup:
    """The whole stylesheet in a <style> element: the first paint waits for no download."""
    text, _ = _current(STYLESHEET)
    return Markup("<style>") + text + Markup("</style>")


def after_first_paint(*paths: str, preload: tuple[str, ...] = ()) -> Markup:
    """Module scripts (static paths) fetched once the page has painted. ``preload`` names
    modules they import, fetched alongside them instead of one round trip later; these are
    unhashed paths, since that is how the scripts import them."""
    text, _ = _current(AFTER_PAINT_LOADER)
    return (
        Markup('<script data-after-paint="{}" data-preload="{}">').format(
            " ".join(static_url(path) for path in paths),
            " ".join(f"/static/{path}" for path in preload),
        )
        + text
        + Markup("</script>")
    )


def inline_style_source() -> str:
    """The CSP source that allows the inline stylesheet and nothing else inline."""
    return _current(STYLESHEET)[1]


def inline_script_source() -> str:
    """The CSP source that allows the after-paint loader and nothing else inline."""
    return _current(AFTER_PAINT_LOADER)[1]
