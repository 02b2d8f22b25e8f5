"""The language a person sees Tend in.

One request is shown in one language: the person's own choice, else their clinic's default,
else the best match for the browser's `Accept-Language`, else English. The language is held
in a context variable for the request, so templates, form errors and services that word
things for people read it from `current_language()` instead of passing it down every call.

A language is a catalogue, not code: `app/locale/<code>/LC_MESSAGES/messages.po` (see
docs/i18n.md). Catalogues are compiled in memory the first time a process needs them, so a
fresh clone needs no build step and an edited catalogue takes effect on restart.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from gettext import GNUTranslations, NullTranslations
from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
CATALOGUE = "LC_MESSAGES/messages.po"
DEFAULT_LANGUAGE = "en"


def _languages_with_a_catalogue() -> dict[str, str]:
    codes = sorted(path.parent.parent.name for path in LOCALE_DIR.glob(f"*/{CATALOGUE}"))
    return {code: Locale.parse(code).get_display_name(code) or code for code in codes}


# Interface languages, each in its own name: English (the source language) and every language
# with a catalogue under app/locale/.
SUPPORTED_LANGUAGES: dict[str, str] = {"en": "English", **_languages_with_a_catalogue()}

_current: ContextVar[str] = ContextVar("tend_language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the request being served ("en" outside a request)."""
    return _current.get()


@contextmanager
def use_language(code: str | None) -> Iterator[None]:
    """Word everything inside in ``code`` (a supported language), then go back."""
    token = _current.set(_supported(code))
    try:
        yield
    finally:
        _current.reset(token)


def choose_language(code: str | None) -> None:
    """Word the rest of this request (its task) in ``code``; each request runs in its own task."""
    _current.set(_supported(code))


def _supported(code: str | None) -> str:
    return code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


_QUALITY = re.compile(r"^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$")


def negotiate(accept_language: str | None) -> str | None:
    """The supported language the browser prefers most (``Accept-Language``), if any."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, *params = part.strip().split(";")
        quality = next((float(m[1]) for p in params if (m := _QUALITY.match(p))), 1.0)
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    preferred = [tag for _, _, tag in sorted(ranked)]
    return negotiate_locale(preferred, list(SUPPORTED_LANGUAGES), sep="-")


@cache
def translations(code: str) -> NullTranslations:
    """The compiled catalogue of ``code`` (English, the source, needs none). Fuzzy entries are
    left out: a guess nobody has checked shows as English, not as a wrong translation."""
    po = LOCALE_DIR / code / CATALOGUE
    if code == DEFAULT_LANGUAGE or not po.is_file():
        return NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source, locale=code)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return GNUTranslations(compiled)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message, by the current language's plural rules."""
    return translations(current_language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:  # the gettext name for "mark now, translate when shown"
    """Mark ``message`` for the catalogue where it is defined; it is translated when shown."""
    return message


def language_tag() -> str:
    """The current language as an HTML ``lang`` value (English here is British English)."""
    code = current_language()
    return "en-GB" if code == DEFAULT_LANGUAGE else code


def format_day(value: date | datetime, pattern: str) -> str:
    """A date worded in the current language, by a CLDR pattern ("EEE dd MMM": "Tue 05 Dec",
    "Maw 05 Rhag"); a datetime shows its own date, as strftime would."""
    return format_date(value, pattern, locale=current_language())
