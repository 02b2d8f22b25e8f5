"""Jinja2 set-up shared by every page: translations, static files and the CSRF field."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from app import i18n
from app.config import PROJECT_ROOT
from app.web.assets import after_first_paint, inline_stylesheet, static_url
from app.web.csrf import csrf_token, set_presession_cookie

TEMPLATES_DIR = PROJECT_ROOT / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.add_extension("jinja2.ext.i18n")
# Every user-facing string goes through gettext, in the request's language (app/i18n): a
# service adds a language by adding a catalogue, without code.
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)


def csrf_input(request: Request) -> Markup:
    """The hidden form field that proves a form came from our own page."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token(request))


# html=False: raw HTML in text a clinic wrote (an information sheet) is shown, never run.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str) -> Markup:
    """Markdown a clinic wrote, as HTML; any raw HTML in it is escaped, not kept."""
    return Markup(_MARKDOWN.render(text))


def lang_attr(language: str) -> Markup:
    """` lang="en"` on text in another language than the page's (an untranslated week on a
    Welsh page), so screen readers switch voice; nothing when it is the page's language."""
    if language == i18n.current_language():
        return Markup("")
    return Markup(' lang="{}"').format(language)


def in_language(text: str, language: str) -> Markup | str:
    """``text`` marked with its language when that is not the page's, for placing inside a
    sentence of the page's language ("Week 2: <span lang="en">...</span>")."""
    if language == i18n.current_language():
        return text
    return Markup('<span lang="{}">{}</span>').format(language, text)


templates.env.globals.update(
    in_language=in_language,
    lang_attr=lang_attr,
    static_url=static_url,
    inline_stylesheet=inline_stylesheet,
    after_first_paint=after_first_paint,
    csrf_input=csrf_input,
    csrf_token=csrf_token,
    render_markdown=render_markdown,
    language_tag=i18n.language_tag,
    format_day=i18n.format_day,
)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page template; ``user`` (if signed in) is always available to it."""
    full = {"user": getattr(request.state, "user", None), **(context or {})}
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    set_presession_cookie(request, response)  # a form rendered before sign-in needs it
    return response


def render_error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """A friendly error page that says what happened and where to go next."""
    return render(
        request,
        "web/error.html",
        # Messages are English where they are raised (the JSON API answers in English); the
        # page shows them in the reader's language.
        {"status_code": status_code, "message": i18n.gettext(message)},
        status_code=status_code,
    )
