"""REDCap: a data dictionary and a matching flat record import file.

One record per participant (record_id = the exported participant code). The participant
form is not repeating; practice, check-ins, scores, attendance and weekly adherence are
repeating instruments, so each practice is one instance of the ``practice`` form.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.exports.tables import TABLES, Column
from app.groups.models import Enrolment, Group

DICTIONARY_HEADER = (
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
)
SPECIAL_COLUMNS = ("record_id", "redcap_repeat_instrument", "redcap_repeat_instance")
PARTICIPANT_FORM = "participant"


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    type: str  # text, dropdown, yesno
    label: str
    choices: str = ""
    note: str = ""
    validation: str = ""  # integer, number, date_ymd, datetime_seconds_ymd
    minimum: str = ""
    maximum: str = ""
    source: str = ""  # the export table column it comes from


@dataclass(frozen=True)
class Form:
    name: str
    table: str  # export table file
    prefix: str


# Which export table fills which repeating form, and the prefix of its field names.
FORMS = (
    Form("practice", "practice_logs.csv", "prac_"),
    Form("checkin", "checkins.csv", "chk_"),
    Form("score", "scores.csv", "score_"),
    Form("attendance", "attendance.csv", "att_"),
    Form("adherence_week", "adherence_weekly.csv", "adh_"),
)
# Coded choices for the string columns that have a closed set of values.
CHOICES: dict[tuple[str, str], Sequence[tuple[str, str]]] = {
    ("practice_logs.csv", "kind"): (
        ("exercise", "With programme audio"),
        ("own", "On one's own"),
        ("group", "In the group session"),
        ("anytime", "A short practice in the day or in a flare"),
    ),
    ("checkins.csv", "moment"): (
        ("before", "Before a practice"),
        ("after", "After a practice"),
        ("standalone", "On its own"),
    ),
    ("attendance.csv", "status"): (
        ("present", "Present"),
        ("absent", "Absent"),
        ("apologies", "Apologies"),
    ),
}
# Ranges REDCap should check on import.
RANGES: dict[tuple[str, str], tuple[str, str]] = {
    ("checkins.csv", "pain_intensity"): ("0", "10"),
    ("checkins.csv", "pain_distress"): ("0", "10"),
    ("checkins.csv", "mood"): ("0", "10"),
    ("adherence_weekly.csv", "practice_days"): ("0", "7"),
    ("practice_logs.csv", "listened_seconds"): ("0", ""),
}
_VALIDATION = {
    "integer": "integer",
    "number": "number",
    "date": "date_ymd",
    "datetime": "datetime_seconds_ymd",
}

IMPORT_NOTES = """## Importing into REDCap

1. Create a project, then Project Setup > Data Dictionary: upload `redcap_data_dictionary.csv`.
2. Enable repeating instruments (Project Setup > Enable optional modules) and make every form
   except `participant` repeating: practice, checkin, score, attendance, adherence_week.
3. Data Import Tool: upload `redcap_records.csv` (format: rows are records; dates Y-M-D).
   Times are UTC (`YYYY-MM-DD HH:MM:SS`).
"""


def _field_for(form: Form, column: Column) -> Field:
    key = (form.table, column.name)
    name = f"{form.prefix}{column.name}"
    note = "; ".join(p for p in (column.units, column.missing) if p)
    if key in CHOICES:
        choices = " | ".join(f"{code}, {label}" for code, label in CHOICES[key])
        return Field(name, form.name, "dropdown", column.label, choices, note, source=column.name)
    if column.type == "boolean":
        return Field(name, form.name, "yesno", column.label, note=note, source=column.name)
    validation = _VALIDATION.get(column.type, "")
    if column.type == "datetime":
        note = "; ".join(p for p in ("UTC", note) if p)
    low, high = RANGES.get(key, ("", ""))
    return Field(
        name,
        form.name,
        "text",
        column.label,
        note=note,
        validation=validation,
        minimum=low,
        maximum=high,
        source=column.name,
    )


def fields() -> list[Field]:
    """Every field, in dictionary order: record_id first, then the forms' fields."""
    result = [
        Field("record_id", PARTICIPANT_FORM, "text", "Participant code (pseudonymous)"),
        Field("group_code", PARTICIPANT_FORM, "text", "Group (cohort) code"),
    ]
    by_file = {t.file: t for t in TABLES}
    for form in FORMS:
        for column in by_file[form.table].columns:
            if column.name in ("participant_code", "group_code"):
                continue
            result.append(_field_for(form, column))
    return result


def dictionary_rows(*, rules: Mapping[str, str]) -> Iterator[tuple[str, ...]]:
    """The data dictionary's rows; the adherence rule goes in the adherence form's header."""
    section = {
        "adherence_week": "Adherence rule: " + " ".join(rules.values()),
        "practice": "Daily practice (one instance per practice)",
    }
    seen: set[str] = set()
    for f in fields():
        header = section.get(f.form, "") if f.form not in seen else ""
        seen.add(f.form)
        yield (
            f.name,
            f.form,
            header,
            f.type,
            f.label,
            f.choices,
            f.note,
            f.validation,
            f.minimum,
            f.maximum,
            "",
            "",
            "y" if f.name == "record_id" else "",
            "",
            "",
            "",
            "",
            "",
        )


def record_header() -> list[str]:
    """The record file's columns: REDCap's three special ones, then every other field."""
    return [*SPECIAL_COLUMNS, *(f.name for f in fields() if f.name != "record_id")]


def _value(value: Any, validation: str) -> Any:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if validation == "datetime_seconds_ymd":
        return _value(datetime.fromisoformat(str(value)), validation)
    return value


def participants(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[str, str]]:
    """(participant code, group code) of everyone enrolled in the groups."""
    query = (
        select(Enrolment.participant_code, Group.code)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.code), col(Enrolment.participant_code))
    )
    yield from session.exec(query)


def record_rows(
    participant_rows: Iterable[tuple[str, str]],
    table_rows: Mapping[str, Iterable[tuple[Any, ...]]],
    *,
    counts: dict[str, int],
) -> Iterator[list[Any]]:
    """The flat import rows: a participant row per record, then one row per repeat instance."""
    header = record_header()
    position = {name: i for i, name in enumerate(header)}
    width = len(header)
    all_fields = fields()
    counts["participant"] = 0
    for code, group in participant_rows:
        row: list[Any] = [""] * width
        row[0] = code
        row[position["group_code"]] = group
        counts["participant"] += 1
        yield row
    by_file = {t.file: t for t in TABLES}
    for form in FORMS:
        names = [c.name for c in by_file[form.table].columns]
        form_fields = [f for f in all_fields if f.form == form.name]
        slots = [(names.index(f.source), position[f.name], f.validation) for f in form_fields]
        instances: dict[str, int] = {}
        counts[form.name] = 0
        for source in table_rows[form.table]:
            code = source[0]
            instances[code] = instances.get(code, 0) + 1
            row = [""] * width
            row[0], row[1], row[2] = code, form.name, instances[code]
            for index, slot, validation in slots:
                row[slot] = _value(source[index], validation)
            counts[form.name] += 1
            yield row
