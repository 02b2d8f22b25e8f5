"""The REDCap files: the record file imports into the project the dictionary defines."""

import re
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from app.exports.redcap import DICTIONARY_HEADER
from app.exports.service import ExportFormat
from tests.exports.conftest import GAD7, PHQ9_CORRECTED, Scored
from tests.exports.helpers import export, read_csv

REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]


def _check_value(value: str, field: dict[str, str]) -> None:
    kind, validation = field["Field Type"], field["Text Validation Type OR Show Slider Number"]
    if kind == "yesno":
        assert value in ("0", "1"), (field, value)
    elif kind == "dropdown":
        codes = [
            c.split(",")[0].strip()
            for c in field["Choices, Calculations, OR Slider Labels"].split("|")
        ]
        assert value in codes, (field, value)
    elif validation == "integer":
        number = int(value)
        if field["Text Validation Min"]:
            assert number >= int(field["Text Validation Min"])
        if field["Text Validation Max"]:
            assert number <= int(field["Text Validation Max"])
    elif validation == "number":
        float(value)
    elif validation == "date_ymd":
        date.fromisoformat(value)
    elif validation == "datetime_seconds_ymd":
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value), value
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")


def test_dictionary_and_records_match(scored: Scored, engine: Engine, tmp_path: Path) -> None:
    export(
        engine,
        tmp_path / "r",
        format=ExportFormat.redcap,
        study_key="a study key of twenty-plus characters",
    )
    dictionary_path = tmp_path / "r" / "redcap_data_dictionary.csv"
    assert dictionary_path.read_text().splitlines()[0].split(",")[0] == "Variable / Field Name"
    dictionary = read_csv(dictionary_path)
    assert list(dictionary[0]) == REDCAP_HEADER == list(DICTIONARY_HEADER)
    fields = {row["Variable / Field Name"]: row for row in dictionary}
    assert dictionary[0]["Variable / Field Name"] == "record_id"
    for name in fields:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and len(name) <= 100
    records = read_csv(tmp_path / "r" / "redcap_records.csv")
    special = {"record_id", "redcap_repeat_instrument", "redcap_repeat_instance"}
    assert set(records[0]) - special <= set(fields)
    forms = {row["Form Name"] for row in dictionary}
    instances: dict[tuple[str, str], list[int]] = defaultdict(list)
    for record in records:
        form = record["redcap_repeat_instrument"]
        assert form == "" or form in forms
        if form:
            instances[(record["record_id"], form)].append(int(record["redcap_repeat_instance"]))
        for column, value in record.items():
            if column in special or value == "":
                continue
            # A value belongs to the form of its row (non-repeating fields on the plain row).
            assert fields[column]["Form Name"] == (form or "participant"), (column, form)
            _check_value(value, fields[column])
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in instances.values())
    practice = [r for r in records if r["redcap_repeat_instrument"] == "practice"]
    assert len(practice) == sum(scored.populated.logs.values())
    participants = [r for r in records if r["redcap_repeat_instrument"] == ""]
    assert len(participants) == 4 and not any(r["record_id"].startswith("P-") for r in participants)


def test_item_answers_are_fields_of_their_questionnaires_score_instance(
    scored: Scored, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "r", format=ExportFormat.redcap)
    fields = {
        row["Variable / Field Name"]: row
        for row in read_csv(tmp_path / "r" / "redcap_data_dictionary.csv")
    }
    prorated = fields["score_prorated"]  # scores.csv's column, as every export carries it
    assert prorated["Form Name"] == "score" and prorated["Field Type"] == "yesno"
    q9 = fields["score_phq9_q9"]
    assert q9["Form Name"] == "score" and q9["Field Type"] == "dropdown"
    assert q9["Choices, Calculations, OR Slider Labels"].startswith("0, Not at all | 1, ")
    assert q9["Branching Logic (Show field only if...)"] == "[score_instrument] = 'phq9'"
    assert "better off dead" in q9["Field Label"]
    scores = {
        (r["record_id"], r["score_instrument"]): r
        for r in read_csv(tmp_path / "r" / "redcap_records.csv")
        if r["redcap_repeat_instrument"] == "score"
    }
    item_fields = [name for name in fields if name.startswith(("score_phq9_", "score_gad7_"))]

    def answers(record: dict[str, str]) -> dict[str, str]:
        return {name: record[name] for name in item_fields if record[name] != ""}

    assert answers(scores[("P-A1", "phq9")]) == {
        f"score_phq9_{item}": str(value) for item, value in PHQ9_CORRECTED.items()
    }
    assert answers(scores[("P-B2", "gad7")]) == {
        f"score_gad7_{item}": str(value) for item, value in GAD7.items()
    }
    # The PSEQ entered as a total has its score and no item answers.
    pseq = scores[("P-A2", "pseq")]
    assert pseq["score_score"] == "30"
    assert not [name for name in fields if name.startswith("score_pseq_") and pseq[name]]
