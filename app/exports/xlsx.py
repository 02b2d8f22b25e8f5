"""The export tables as one XLSX workbook, streamed (openpyxl write-only mode)."""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.exports.formulas import as_text
from app.exports.tables import Column, Table

# Excel's sheet limit is 1,048,576 rows; longer tables continue on "<name> (2)", ...
MAX_SHEET_ROWS = 1_048_575
_ILLEGAL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def _sheet_value(value: Any, kind: str = "") -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str) and kind == "date":
        return date.fromisoformat(value)  # typed cells, whichever form the rows came in
    if isinstance(value, str) and kind == "datetime":
        value = datetime.fromisoformat(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        # Excel has no time zones: instants are written in UTC, as the codebook says.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and any(ch in _ILLEGAL for ch in value):
        return "".join(ch for ch in value if ch not in _ILLEGAL)
    return value


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    """A string cell: never a formula, whatever the text begins with."""
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _row_writer(sheet: WriteOnlyWorksheet, columns: Sequence[Column]) -> Callable[..., list[Any]]:
    """Turns a table row into sheet cells: typed values, and person-typed text as text."""
    kinds = [c.type for c in columns]
    person = {i for i, c in enumerate(columns) if c.typed_by_person}

    def cells(row: Sequence[Any]) -> list[Any]:
        values = [_sheet_value(v, k) for v, k in zip(row, kinds, strict=True)]
        for i in person:
            if isinstance(values[i], str):
                values[i] = _text_cell(sheet, as_text(values[i]))
        return values

    return cells


def write_workbook(
    path: Path,
    *,
    tables: Sequence[tuple[Table, Iterable[tuple[Any, ...]]]],
    codebook_header: Sequence[str],
    codebook: Iterable[Sequence[Any]],
    readme: Callable[[dict[str, int]], list[str]],
) -> dict[str, int]:
    """Write README, codebook and one sheet per table; the row count of each table."""
    book = Workbook(write_only=True)
    readme_sheet = book.create_sheet("README")  # filled last, when the counts are known
    counts: dict[str, int] = {}
    codebook_sheet = book.create_sheet("codebook")
    codebook_sheet.append(list(codebook_header))
    rows = 0
    for entry in codebook:
        codebook_sheet.append(list(entry))
        rows += 1
    counts["codebook.csv"] = rows
    for table, table_rows in tables:
        base = table.file.removesuffix(".csv")
        header = [c.name for c in table.columns]
        part, in_sheet, total = 1, 0, 0
        sheet = book.create_sheet(base)
        sheet.append(header)
        cells = _row_writer(sheet, table.columns)
        for row in table_rows:
            if in_sheet == MAX_SHEET_ROWS:
                part += 1
                in_sheet = 0
                sheet = book.create_sheet(f"{base} ({part})")
                sheet.append(header)
                cells = _row_writer(sheet, table.columns)
            sheet.append(cells(row))
            in_sheet += 1
            total += 1
        counts[table.file] = total
    for line in readme(counts):  # names group codes, which staff typed
        readme_sheet.append([_text_cell(readme_sheet, line)])
    book.save(path)
    return counts
