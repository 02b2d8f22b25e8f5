"""REDCap: a data dictionary and a matching flat record import file.

One record per participant (record_id = the exported participant code). The participant
form is not repeating; practice, check-ins, scores, attendance and weekly adherence are
repeating instruments, so each practice is one instance of the ``practice`` form. The
answers of item_responses.csv are fields of the ``score`` form, one per item of every
instrument, filled on the instance of the questionnaire they belong to.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlmodel import Session, col, select

from app.exports.tables import ADMINISTRATION_KEY, TABLES, Column, Table
from app.groups.models import Enrolment, Group
from app.outcomes import instruments as instrument_registry
from app.outcomes.definitions import Instrument, Item

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
    branching: str = ""  # REDCap branching logic: show the field only if this holds


@dataclass(frozen=True)
class Form:
    name: str
    table: str  # export table file
    prefix: str


# Which export table fills which repeating form, and the prefix of its field names.
SCORE_FORM = Form("score", "scores.csv", "score_")
FORMS = (
    Form("practice", "practice_logs.csv", "prac_"),
    Form("checkin", "checkins.csv", "chk_"),
    SCORE_FORM,
    Form("attendance", "attendance.csv", "att_"),
    Form("adherence_week", "adherence_weekly.csv", "adh_"),
)
ITEM_TABLE = next(t for t in TABLES if t.file == "item_responses.csv")
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

Each questionnaire's item answers are fields of its `score` instance
(`score_<instrument>_<item>`, e.g. `score_phq9_q1`), shown only for that instrument.
A questionnaire staff entered as a total has its score and no item answers.
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


def item_field_name(instrument_id: str, item_id: str) -> str:
    """The score form's field for one item of one instrument (REDCap names are lower case)."""
    return f"{SCORE_FORM.prefix}{instrument_id}_{item_id.lower()}"


def _item_field(instrument: Instrument, number: int, item: Item) -> Field:
    name = item_field_name(instrument.id, item.id)
    label = f"{instrument.short_name} item {number}" + (f": {item.text}" if item.text else "")
    note = f"LOINC {item.loinc}" if item.loinc else ""
    show = f"[{SCORE_FORM.prefix}instrument] = '{instrument.id}'"
    options = instrument.options_for(item.id)
    if options is not None:
        choices = " | ".join(f"{option.value}, {option.label}" for option in options)
        return Field(name, SCORE_FORM.name, "dropdown", label, choices, note, branching=show)
    scale = instrument.range_for(item.id)
    assert scale is not None  # every item has options or a range
    return Field(
        name,
        SCORE_FORM.name,
        "text",
        label,
        note=note,
        validation="integer",
        minimum=str(scale.min),
        maximum=str(scale.max),
        branching=show,
    )


def _item_fields() -> Iterator[Field]:
    for instrument in instrument_registry.ordered_instruments():
        for number, item in enumerate(instrument.items, start=1):
            yield _item_field(instrument, number, item)


def fields() -> list[Field]:
    """Every field, in dictionary order: record_id first, then the forms' fields (the score
    form's own, then one per questionnaire item)."""
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
        if form == SCORE_FORM:
            result.extend(_item_fields())
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
            f.branching,
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


def _administration_key(table: Table) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Reads the columns that name an administration from a row of ``table``."""
    columns = [c.name for c in table.columns]
    return itemgetter(*(columns.index(name) for name in ADMINISTRATION_KEY))


class _ItemAnswers:
    """item_responses rows, handed out administration by administration as score rows come.

    Both tables stream from the same administrations in the same order through the same
    filters, so a score row's answers, when it has any, are always next in line.
    """

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        columns = [c.name for c in ITEM_TABLE.columns]
        self._answer = itemgetter(columns.index("item"), columns.index("value"))
        self._groups = groupby(rows, key=_administration_key(ITEM_TABLE))
        self._next = next(self._groups, None)

    def take(self, key: tuple[Any, ...]) -> list[tuple[str, Any]]:
        """(item id, answer) of the administration with this key; none when it has none."""
        if self._next is None or self._next[0] != key:
            return []
        answers = [self._answer(row) for row in self._next[1]]
        self._next = next(self._groups, None)
        return answers


def record_rows(
    participant_rows: Iterable[tuple[str, str]],
    table_rows: Mapping[str, Iterable[tuple[Any, ...]]],
    *,
    counts: dict[str, int],
) -> Iterator[list[Any]]:
    """The flat import rows: a participant row per record, then one row per repeat instance
    (a score instance carries its questionnaire's item answers)."""
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
    score_key = _administration_key(by_file[SCORE_FORM.table])
    instrument_index = ADMINISTRATION_KEY.index("instrument")
    for form in FORMS:
        names = [c.name for c in by_file[form.table].columns]
        form_fields = [f for f in all_fields if f.form == form.name and f.source]
        slots = [(names.index(f.source), position[f.name], f.validation) for f in form_fields]
        instances: dict[str, int] = {}
        counts[form.name] = 0
        answers = None
        if form == SCORE_FORM:
            answers = _ItemAnswers(table_rows[ITEM_TABLE.file])
            counts["item_answers"] = 0
        for source in table_rows[form.table]:
            code = source[0]
            instances[code] = instances.get(code, 0) + 1
            row = [""] * width
            row[0], row[1], row[2] = code, form.name, instances[code]
            for index, slot, validation in slots:
                row[slot] = _value(source[index], validation)
            if answers is not None:
                key = score_key(source)
                counts["item_answers"] += _fill_items(
                    row, position, key[instrument_index], answers.take(key)
                )
            counts[form.name] += 1
            yield row


def _fill_items(
    row: list[Any],
    position: Mapping[str, int],
    instrument: str,
    answers: Iterable[tuple[str, Any]],
) -> int:
    """Put an administration's answers in their fields of the row; how many were placed."""
    placed = 0
    for item_id, value in answers:
        slot = position.get(item_field_name(instrument, item_id))
        if slot is not None:  # None: an item the instrument's definition no longer has
            row[slot] = value
            placed += 1
    return placed
