"""The Welsh catalogue covers the whole interface: every message extracted afresh from the
templates and the Python is there, translated, not fuzzy, with its placeholders intact."""

import re

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from app.i18n import LOCALE_DIR, SUPPORTED_LANGUAGES
from app.i18n.catalogue import extract

WELSH = LOCALE_DIR / "cy" / "LC_MESSAGES" / "messages.po"
# Pages only staff see: their words are translated on branch welsh-staff (issue 18) and the
# two catalogues are merged entry by entry; a message used anywhere else is in "patient".
STAFF_ONLY = (
    "templates/groups/",
    "templates/audit/",
    "templates/clinics/staff.html",
    "templates/clinics/account.html",
    "templates/clinics/forgot.html",
    "templates/comments/",
    "templates/exports/",
    "templates/retention/",
    "templates/audio/admin.html",
    "templates/programme/adherence.html",
    "templates/outcomes/summary.html",
    "templates/outcomes/enter.html",
    "templates/outcomes/patient.html",
    "templates/outcomes/safety_flag.html",
    "templates/outcomes/weekly.html",
    "templates/outcomes/_safety_flags.html",
    "templates/outcomes/_numbers.html",
    "templates/consent/editor.html",
    "templates/consent/_staff_status.html",
    "app/audio/pages.py",
)
_BRACED = re.compile(r"\{\w+\}")
_PERCENT = re.compile(r"%\(\w+\)[sd]")


def _welsh() -> Catalog:
    with WELSH.open("rb") as source:
        return read_po(source, locale="cy")


def _staff_only(message: Message) -> bool:
    return all(path.startswith(STAFF_ONLY) for path, _ in message.locations)


def _translated(entry: Message | None) -> bool:
    if entry is None or entry.fuzzy:
        return False
    strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return all(strings)


@pytest.mark.parametrize("audience", ["patient", "staff"])
def test_every_message_in_the_source_is_translated_into_welsh(audience: str) -> None:
    welsh = _welsh()
    source = [m for m in extract() if m.id and _staff_only(m) == (audience == "staff")]

    missing = [str(m.id) for m in source if not _translated(welsh.get(m.id, m.context))]

    assert source, "nothing extracted: the extraction settings are broken"
    assert missing == []


def test_welsh_has_its_six_plural_forms_and_is_offered() -> None:
    welsh = _welsh()
    assert welsh.num_plurals == 6
    assert SUPPORTED_LANGUAGES["cy"] == "Cymraeg"
    assert "MACHINE-DRAFTED" in (welsh.header_comment or "")


def test_every_translation_keeps_the_placeholders_of_its_message() -> None:
    broken = []
    for entry in _welsh():
        if not entry.id or not _translated(entry):
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = {p for pattern in (_BRACED, _PERCENT) for p in pattern.findall(ids[-1])}
        for string in strings:
            found = {p for pattern in (_BRACED, _PERCENT) for p in pattern.findall(string)}
            if found != wanted:
                broken.append((ids[0], string))
    assert broken == []
    # Babel's own checks (python-format placeholders and plural counts) agree.
    assert [(m.id, errors) for m, errors in _welsh().check()] == []
