"""The language a person sees Tend in.

One request is shown in one language: the person's own choice, else their clinic's default,
else the best match for the browser's `Accept-Language`, else English. The language is held
in a context variable for the request, so templates, form errors and services that word
things for people read it from `current_language()` instead of passing it down every call.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Interface languages with a catalogue under app/locale/ (English is the source language).
SUPPORTED_LANGUAGES: dict[str, str] = {"en": "English", "cy": "Cymraeg"}
DEFAULT_LANGUAGE = "en"

_current: ContextVar[str] = ContextVar("tend_language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the request being served ("en" outside a request)."""
    return _current.get()


@contextmanager
def use_language(code: str) -> Iterator[None]:
    """Word everything inside in ``code`` (a supported language), then go back."""
    token = _current.set(code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)
