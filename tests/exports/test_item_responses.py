"""item_responses.csv: every answer of every exported questionnaire, joinable to scores.csv."""

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.errors import Forbidden
from app.exports.service import ExportFormat, Pseudonymiser
from app.outcomes.models import Administration, AdministrationStatus
from tests.exports.conftest import GAD7, PHQ9_CORRECTED, PHQ9_PAPER, REFLECTION_TEXT, Scored
from tests.exports.helpers import export, read_csv, typed

# How scores.csv names an administration (one current administration per key).
KEY = ("participant_code", "group_code", "instrument", "timepoint")
Row = dict[str, str]

STUDY_KEY = "a study key of twenty-plus characters"


def key(row: Row) -> tuple[str, ...]:
    return tuple(row[column] for column in KEY)


def answers_by_administration(rows: list[Row]) -> dict[tuple[str, ...], dict[str, str]]:
    found: dict[tuple[str, ...], dict[str, str]] = defaultdict(dict)
    for row in rows:
        found[key(row)][row["item"]] = row["value"]
    return dict(found)


def as_text(answers: dict[str, int | None]) -> dict[str, str]:
    return {item: str(value) for item, value in answers.items() if value is not None}


def exported(folder: Path) -> tuple[list[Row], list[Row]]:
    return read_csv(folder / "scores.csv"), read_csv(folder / "item_responses.csv")


def test_each_answer_of_each_administration_in_scores_csv_is_one_row(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b")
    scores, items = exported(tmp_path / "b")

    # The corrected PHQ-9 replaces the patient's first answers; item 3 left blank on paper
    # has no row; the staff-entered PSEQ total and the draft have none at all.
    assert answers_by_administration(items) == {
        ("P-A1", "GRP-A", "gad7", "baseline"): as_text(GAD7),
        ("P-A1", "GRP-A", "phq9", "baseline"): as_text(PHQ9_CORRECTED),
        ("P-A2", "GRP-A", "phq9", "baseline"): as_text(PHQ9_PAPER),
        ("P-B2", "GRP-B", "gad7", "baseline"): as_text(GAD7),
    }
    by_key = {key(row): row for row in scores}
    assert len(by_key) == len(scores) == 5
    assert by_key[("P-A1", "GRP-A", "phq9", "baseline")]["is_correction"] == "1"
    pseq = by_key[("P-A2", "GRP-A", "pseq", "baseline")]
    assert pseq["staff_entered"] == "1" and pseq["score"] == "30"
    assert not any(row["participant_code"] == "P-B1" for row in scores + items)

    # Each answer joins to its score row, with the same completion time and version.
    for row in items:
        score = by_key[key(row)]
        assert row["completed_at"] == score["completed_at"]
        assert row["instrument_version"] == score["instrument_version"]
    corrected = [row for row in items if key(row) == ("P-A1", "GRP-A", "phq9", "baseline")]
    assert sum(int(row["value"]) for row in corrected) == int(
        by_key[("P-A1", "GRP-A", "phq9", "baseline")]["score"]
    )
    # Items in the questionnaire's order, with their LOINC codes where they have one.
    assert [row["item"] for row in corrected] == [f"q{n}" for n in range(1, 10)]
    assert [row["item_number"] for row in corrected] == [str(n) for n in range(1, 10)]
    assert (corrected[0]["item_loinc"], corrected[8]["item_loinc"]) == ("44250-9", "44260-8")
    gad7 = [row for row in items if key(row) == ("P-A1", "GRP-A", "gad7", "baseline")]
    assert gad7[0]["item_loinc"] == "69725-0"


def test_item_responses_read_back_with_the_codebooks_types_and_say_what_is_missing(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b")
    codebook = read_csv(tmp_path / "b" / "codebook.csv")
    kinds = {r["variable"]: r["type"] for r in codebook if r["file"] == "item_responses.csv"}
    items = read_csv(tmp_path / "b" / "item_responses.csv")
    assert list(items[0]) == list(kinds)
    for row in items:
        values = {column: typed(text, kinds[column]) for column, text in row.items()}
        assert isinstance(values["value"], int)
    described = " ".join(" ".join(r.values()) for r in codebook).lower()
    readme = (tmp_path / "b" / "README.md").read_text().lower()
    for text in (described, readme):
        assert "item_responses.csv" in text and "entered as a total" in text


def test_pseudonyms_and_date_shifts_are_those_of_scores_csv(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "plain")
    export(engine, tmp_path / "shifted", study_key=STUDY_KEY, date_shift=True)
    plain_items = read_csv(tmp_path / "plain" / "item_responses.csv")
    scores, items = exported(tmp_path / "shifted")

    assert len(items) == len(plain_items)
    assert not any(row["participant_code"].startswith("P-") for row in items)
    # Every answer still joins its score row: the same pseudonym, the same shifted time.
    joined = {(*key(row), row["completed_at"]) for row in scores}
    assert all((*key(row), row["completed_at"]) in joined for row in items)
    # P-A1's answers move by the same whole days as P-A1's practice.
    pseudonyms = Pseudonymiser(STUDY_KEY, date_shift=True)
    code, shift = pseudonyms.code("P-A1"), pseudonyms.shift("GRP-A")
    assert shift != timedelta(0)
    for name, column in (
        ("item_responses.csv", "completed_at"),
        ("practice_logs.csv", "started_at"),
    ):
        before = times(read_csv(tmp_path / "plain" / name), "P-A1", column)
        after = times(read_csv(tmp_path / "shifted" / name), code, column)
        assert before
        assert [b - a for a, b in zip(before, after, strict=True)] == [shift] * len(before)


def times(rows: list[Row], participant: str, column: str) -> list[datetime]:
    return sorted(
        typed(r[column], "datetime") for r in rows if r["participant_code"] == participant
    )


def test_date_range_groups_and_roles_narrow_item_rows_as_they_narrow_scores(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    today = (scored.earlier + timedelta(days=9)).date()
    export(engine, tmp_path / "today", date_from=today - timedelta(days=1))
    scores, items = exported(tmp_path / "today")
    assert {key(r) for r in items} == {
        ("P-A1", "GRP-A", "phq9", "baseline"),
        ("P-A2", "GRP-A", "phq9", "baseline"),
    }
    assert {key(r) for r in items} < {key(r) for r in scores}
    assert not any(r["instrument"] == "gad7" for r in scores)

    export(engine, tmp_path / "b", group_codes=["GRP-B"])
    assert {r["participant_code"] for r in read_csv(tmp_path / "b" / "item_responses.csv")} == {
        "P-B2"
    }
    with pytest.raises(Forbidden):
        export(engine, tmp_path / "f", login="fa@one.example", group_codes=["GRP-A"])
    export(engine, tmp_path / "other", login="clinician@two.example")
    assert read_csv(tmp_path / "other" / "item_responses.csv") == []


def test_no_free_text_answer_is_ever_exported(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    # No instrument has free-text items; an answer that is text anyway stays out.
    with open_session(engine, write=True) as session:
        session.add(
            Administration(
                enrolment_id=scored.populated.world.enrolments["B1"].id or 0,
                instrument_id="gad7",
                instrument_version="1",
                timepoint="end",
                status=AdministrationStatus.submitted,
                answers={**GAD7, "q1": REFLECTION_TEXT},
                score_total=9,
                submitted_at=scored.earlier,
            )
        )
        session.commit()
    for free_text in (False, True):
        folder = tmp_path / f"free-{free_text}"
        export(engine, folder, free_text=free_text)
        items = read_csv(folder / "item_responses.csv")
        b1 = [r["item"] for r in items if r["participant_code"] == "P-B1"]
        assert b1 == [f"q{n}" for n in range(2, 8)]
        assert REFLECTION_TEXT not in (folder / "item_responses.csv").read_text()
        assert all(r["value"].isdigit() for r in items)


def test_every_format_carries_the_item_answers_and_the_audit_counts_them(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    export(engine, tmp_path / "b")
    items = read_csv(tmp_path / "b" / "item_responses.csv")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["files"]["item_responses.csv"]["rows"] == len(items) == 9 + 7 + 8 + 7
    export(engine, tmp_path / "x", format=ExportFormat.xlsx)
    sheet = list(load_workbook(tmp_path / "x" / "tend-export.xlsx")["item_responses"].values)
    assert list(sheet[0]) == list(items[0])
    assert [[str(v) for v in row[6:9]] for row in sheet[1:]] == [
        [r["item"], r["item_number"], r["value"]] for r in items
    ]
    with open_session(engine) as session:
        bundle, workbook = session.exec(
            select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
        ).all()
    assert bundle.detail["files"]["item_responses.csv"] == manifest["files"]["item_responses.csv"]
    assert workbook.detail["table_rows"]["item_responses.csv"] == len(items)
