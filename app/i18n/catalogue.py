"""Extraction: every word Tend shows, gathered from the templates and the Python, and the
catalogues kept in step with it (`tend messages`). The completeness test extracts with the
same settings, so the catalogue and the test can never disagree about what needs translating.
"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from app.config import PROJECT_ROOT
from app.i18n import CATALOGUE, LOCALE_DIR

TEMPLATE = LOCALE_DIR / "messages.pot"
# Templates (the words of the static JavaScript reach it through data-* attributes the page
# renders, see templates/practice/_app_shell.html) and the Python that words things for people.
_METHODS = [
    ("templates/**.html", "jinja2"),
    ("app/**.py", "python"),
]
_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
_HEADER = """\
Tend's interface words. Extracted by `tend messages`; do not edit the template by hand.
"""


def extract() -> Catalog:
    """A fresh catalogue template of every translatable message in the source."""
    catalogue = Catalog(project="Tend", header_comment=_as_comment(_HEADER), fuzzy=False)
    found = extract_from_dir(
        PROJECT_ROOT,
        method_map=_METHODS,
        options_map=_OPTIONS,
        keywords=_KEYWORDS,
        comment_tags=("Translators:",),
    )
    for filename, line, message, comments, context in found:
        where = [(filename, line)]  # written without the line: moving a line changes nothing
        catalogue.add(message, locations=where, auto_comments=comments, context=context)
    return catalogue


def update_catalogues() -> list[Path]:
    """Write the template and bring every language's catalogue up to it; the files written."""
    template = extract()
    _write(TEMPLATE, template)
    written = [TEMPLATE]
    for po in sorted(LOCALE_DIR.glob(f"*/{CATALOGUE}")):
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        # No fuzzy matching: a near-miss guess would be shown as if a person had checked it.
        catalogue.update(template, no_fuzzy_matching=True)
        _write(po, catalogue)
        written.append(po)
    return written


def _write(path: Path, catalogue: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as target:
        write_po(target, catalogue, width=100, sort_output=True, include_lineno=False)


def _as_comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in text.splitlines())
