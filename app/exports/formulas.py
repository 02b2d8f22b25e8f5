"""Cells a spreadsheet must show as text, never run (OWASP "CSV injection").

Excel, LibreOffice and Google Sheets treat a cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula. Patients' words and codes typed by staff are
hostile input, so such a value is written with a leading apostrophe, which every spreadsheet
reads as "this is text" and hides; in XLSX the cell is also stored as a string cell.
"""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT_PREFIX = "'"
CODEBOOK_NOTE = (
    "Text that began with =, +, -, @, a tab or a carriage return starts with an added ' "
    "so that spreadsheets show it as text and never run it as a formula; remove that first "
    "' to recover the original"
)


def as_text(value: str) -> str:
    """The value, with an apostrophe in front when a spreadsheet would read it as a formula."""
    return TEXT_PREFIX + value if value.startswith(FORMULA_TRIGGERS) else value
