"""The export bundle: what a researcher receives, and what it must never contain."""

import csv
import hashlib
import hmac
import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from app import clock as app_clock
from app.audit.models import AuditEvent
from app.db import open_session
from app.errors import Forbidden, InvalidInput, NotFound
from app.exports.service import ExportFormat, Pseudonymiser, key_fingerprint
from tests.exports.conftest import REFLECTION_TEXT, Populated
from tests.exports.helpers import export, read_csv, typed

BUNDLE_FILES = {
    "practice_logs.csv",
    "checkins.csv",
    "scores.csv",
    "item_responses.csv",
    "attendance.csv",
    "adherence_weekly.csv",
    "codebook.csv",
}

STUDY_KEY = "a study key of twenty-plus characters"


def test_bundle_manifest_hashes_and_counts_match_the_files(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    result = export(engine, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert set(manifest["files"]) == BUNDLE_FILES
    for name, entry in manifest["files"].items():
        data = (tmp_path / "b" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(read_csv(tmp_path / "b" / name)) == entry["rows"]
    assert manifest["files"]["practice_logs.csv"]["rows"] == 9
    assert result.group_codes == ["GRP-A", "GRP-B"]


def test_every_csv_reads_back_with_the_codebooks_types(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b", free_text=True)
    codebook = read_csv(tmp_path / "b" / "codebook.csv")
    kinds = {(row["file"], row["variable"]): row["type"] for row in codebook}
    files = {row["file"] for row in codebook}
    assert "reflections.csv" in files
    for name in files:
        rows = read_csv(tmp_path / "b" / name)
        header = list(rows[0]) if rows else []
        assert all((name, column) in kinds for column in header)
        for row in rows:
            for column, value in row.items():
                typed(value, kinds[(name, column)])
    pain = next(r for r in codebook if r["variable"] == "pain_intensity")
    assert pain["loinc"] == "72514-3" and pain["allowed_values"] == "0-10"
    prorated = next(r for r in codebook if (r["file"], r["variable"]) == ("scores.csv", "prorated"))
    assert "mean of the answered ones" in prorated["label"]
    assert all(r["label"] for r in codebook)


def test_readme_and_codebook_state_the_adherence_rule_in_words(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    from app.programme import service as programme_service

    with open_session(engine) as session:
        programme = programme_service.get_programme(session, populated.world.programme_id)
        rule = programme_service.adherence_rule(
            session, programme, clinic_id=populated.world.clinic.id or 0
        ).describe()
    export(engine, tmp_path / "b")
    assert rule in (tmp_path / "b" / "README.md").read_text()
    codebook = read_csv(tmp_path / "b" / "codebook.csv")
    completer = next(r for r in codebook if r["variable"] == "completer")
    assert rule in completer["derivation"]


def test_weekly_adherence_counts_practice_days_against_the_target(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b")
    rows = read_csv(tmp_path / "b" / "adherence_weekly.csv")
    week = {(r["participant_code"], r["week"]): r for r in rows}
    # P-A2: ten minutes on five days of week 1 meets "10 minutes on 5 days".
    assert week[("P-A2", "1")]["practice_days"] == "5"
    assert week[("P-A2", "1")]["minutes"] == "50"
    assert week[("P-A2", "1")]["met_target"] == "1"
    # P-A1: 5 and 7 minutes do not make practice days; 15 minutes does.
    assert week[("P-A1", "1")]["practice_days"] == "1"
    assert week[("P-A1", "1")]["met_target"] == "0"
    assert week[("P-A1", "2")]["practice_days"] == "0"
    assert {r["week"] for r in rows if r["participant_code"] == "P-B2"} == {"1", "2"}


def test_default_export_has_no_names_emails_or_free_text(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b")
    assert not (tmp_path / "b" / "reflections.csv").exists()
    everything = "".join(p.read_text() for p in (tmp_path / "b").iterdir())
    for identifying in ("Margaret", "@one.example", "Clinic One", REFLECTION_TEXT):
        assert identifying not in everything
    assert "P-A1" in everything  # the clinic's pseudonymous codes, by default


def test_free_text_only_when_asked_and_then_in_its_own_file(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b", free_text=True)
    rows = read_csv(tmp_path / "b" / "reflections.csv")
    assert [r["text"] for r in rows] == [REFLECTION_TEXT]
    assert "INCLUDED" in (tmp_path / "b" / "README.md").read_text()


def _codes(path: Path) -> set[str]:
    return {r["participant_code"] for r in read_csv(path / "practice_logs.csv")}


def test_pseudonyms_are_stable_within_a_study_and_differ_across_studies(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "one", study_key="study one: a long passphrase")
    export(engine, tmp_path / "again", study_key="study one: a long passphrase")
    export(engine, tmp_path / "two", study_key="study two: a long passphrase")
    one, again, two = _codes(tmp_path / "one"), _codes(tmp_path / "again"), _codes(tmp_path / "two")
    assert one == again and len(one) == 3
    assert not one & two
    for folder in ("one", "two"):
        text = "".join(p.read_text() for p in (tmp_path / folder).iterdir())
        assert "P-A1" not in text and "P-B1" not in text
    # The same participant has the same pseudonym in every file of the export.
    codes_in_weeks = {
        r["participant_code"] for r in read_csv(tmp_path / "one" / "adherence_weekly.csv")
    }
    assert one <= codes_in_weeks


def test_date_shifting_moves_each_group_by_whole_days_and_keeps_intervals(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "plain")
    export(engine, tmp_path / "shifted", study_key=STUDY_KEY, date_shift=True)
    export(engine, tmp_path / "pseudo", study_key=STUDY_KEY)
    plain = read_csv(tmp_path / "plain" / "practice_logs.csv")
    shifted = read_csv(tmp_path / "shifted" / "practice_logs.csv")
    pseudo = read_csv(tmp_path / "pseudo" / "practice_logs.csv")
    assert [r["participant_code"] for r in shifted] == [r["participant_code"] for r in pseudo]
    ids = Pseudonymiser(STUDY_KEY)
    by_log = {ids.row_id(r["log_id"]): r for r in plain}
    shifts: dict[str, set[timedelta]] = defaultdict(set)
    for row in shifted:
        before = by_log[row["log_id"]]
        for column, kind in (
            ("started_at", "datetime"),
            ("received_at", "datetime"),
            ("local_date", "date"),
        ):
            delta = typed(row[column], kind) - typed(before[column], kind)
            assert delta.total_seconds() % 86400 == 0 and delta != timedelta(0)
            shifts[before["group_code"]].add(delta)
    # One shift per group, so everyone in a group keeps their place beside the others and
    # beside the group's sessions; different groups move differently.
    assert all(len(deltas) == 1 for deltas in shifts.values())
    assert len({next(iter(d)) for d in shifts.values()}) > 1
    group_a = [typed(r["started_at"], "datetime") for r in plain if r["group_code"] == "GRP-A"]
    code_a = ids.group("GRP-A")
    moved_a = [typed(r["started_at"], "datetime") for r in shifted if r["group_code"] == code_a]
    assert sorted(b - a for a in group_a for b in group_a) == sorted(
        b - a for a in moved_a for b in moved_a
    )
    # The group's session moves by the group's shift: it cannot undo a participant's shift.
    [session_plain] = read_csv(tmp_path / "plain" / "attendance.csv")[:1]
    [session_moved] = read_csv(tmp_path / "shifted" / "attendance.csv")[:1]
    assert typed(session_moved["session_date"], "date") - typed(
        session_plain["session_date"], "date"
    ) == next(iter(shifts["GRP-A"]))
    codebook = {r["variable"]: r for r in read_csv(tmp_path / "shifted" / "codebook.csv")}
    assert "group's whole-day offset" in codebook["started_at"]["derivation"]


def test_row_ids_and_group_codes_are_pseudonymised_with_the_study_key(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "plain", free_text=True)
    export(engine, tmp_path / "pseudo", study_key=STUDY_KEY, free_text=True)
    identifiers = {
        "practice_logs.csv": ("log_id", "group_code"),
        "checkins.csv": ("checkin_id", "practice_log_id", "group_code"),
        "reflections.csv": ("reflection_id", "group_code"),
        "attendance.csv": ("group_code",),
    }
    for name, columns in identifiers.items():
        plain = read_csv(tmp_path / "plain" / name)
        pseudo = read_csv(tmp_path / "pseudo" / name)
        assert plain and len(plain) == len(pseudo)
        for column in columns:
            before = {r[column] for r in plain if r[column]}
            after = {r[column] for r in pseudo if r[column]}
            assert before and not before & after, (name, column)
            assert len(after) == len(before)  # still unique
    # Ratings still join the practice they rate.
    logs = {r["log_id"] for r in read_csv(tmp_path / "pseudo" / "practice_logs.csv")}
    rated = {r["practice_log_id"] for r in read_csv(tmp_path / "pseudo" / "checkins.csv")}
    assert rated and rated <= logs
    everything = "".join(p.read_text() for p in (tmp_path / "pseudo").iterdir())
    assert "GRP-A" not in everything and "GRP-B" not in everything


def test_a_weak_study_key_is_refused_naming_the_field(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    for weak in ("k", "nineteen characters"):
        with pytest.raises(InvalidInput) as refused:
            export(engine, tmp_path / "weak", study_key=weak)
        assert refused.value.field == "study_key" and "20 characters" in refused.value.message
    assert not (tmp_path / "weak").exists()


def test_the_key_fingerprint_is_slow_to_compute(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "b", study_key=STUDY_KEY)
    fingerprint = key_fingerprint(STUDY_KEY)
    assert f"fingerprint (scrypt): {fingerprint}" in (tmp_path / "b" / "README.md").read_text()
    fast = hmac.new(STUDY_KEY.encode(), b"tend-key-fingerprint", hashlib.sha256).hexdigest()
    assert fingerprint != fast[:12]
    started = time.perf_counter()
    for _ in range(5):
        key_fingerprint(STUDY_KEY)
    assert (time.perf_counter() - started) / 5 > 0.01  # a guess costs at least 10 ms


def test_date_range_keeps_only_the_days_asked_for(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    start = populated.start
    export(
        engine,
        tmp_path / "b",
        date_from=start + timedelta(days=1),
        date_to=start + timedelta(days=2),
    )
    days = {r["local_date"] for r in read_csv(tmp_path / "b" / "practice_logs.csv")}
    assert days == {(start + timedelta(days=n)).isoformat() for n in (1, 2)}
    assert read_csv(tmp_path / "b" / "attendance.csv") == []  # the session was on day 0


def test_group_filter_and_role_scoping(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    export(engine, tmp_path / "a", group_codes=["GRP-A"])
    assert _codes(tmp_path / "a") == {"P-A1", "P-A2"}
    with pytest.raises(Forbidden):
        export(engine, tmp_path / "f", login="fa@one.example", group_codes=["GRP-A"])
    with pytest.raises(NotFound):
        export(engine, tmp_path / "o", login="clinician@two.example", group_codes=["GRP-A"])
    other = export(engine, tmp_path / "o2", login="clinician@two.example")
    assert other.group_codes == [] and _codes(tmp_path / "o2") == set()


def test_bad_requests_name_the_field(populated: Populated, engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as shifted:
        export(engine, tmp_path / "x", date_shift=True)
    assert shifted.value.field == "study_key"
    start = populated.start
    with pytest.raises(InvalidInput) as backwards:
        export(engine, tmp_path / "y", date_from=start, date_to=start - timedelta(days=1))
    assert backwards.value.field == "date_to"


def test_every_export_leaves_an_audit_event_with_filters_files_and_hashes(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    result = export(
        engine,
        tmp_path / "b",
        group_codes=["GRP-A"],
        study_key="secret key of the STUDY-42 trial",
        format=ExportFormat.xlsx,
    )
    with open_session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.actor_user_id == populated.world.users["clinician"].id
    assert event.detail["format"] == "xlsx"
    assert event.detail["filters"]["groups"] == ["GRP-A"]
    assert event.detail["filters"]["pseudonymised"] is True
    assert "secret key of the STUDY-42 trial" not in json.dumps(event.detail)
    ((name, summary),) = result.files.items()
    assert event.detail["files"][name] == {"sha256": summary.sha256, "rows": summary.rows}
    assert event.detail["table_rows"]["practice_logs.csv"] == 8


def _same_cell(sheet_value: object, csv_value: str) -> bool:
    """A workbook cell holds what the CSV cell says, typed (Excel instants are UTC, no zone)."""
    if csv_value == "":
        return sheet_value is None or sheet_value == ""
    if isinstance(sheet_value, datetime):
        moment = datetime.fromisoformat(csv_value)
        utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
        # Excel keeps time to the millisecond: the CSV's microseconds come back rounded.
        return abs(sheet_value - utc) <= timedelta(milliseconds=1)
    if isinstance(sheet_value, date):
        return sheet_value == date.fromisoformat(csv_value)
    if isinstance(sheet_value, bool):
        return csv_value == ("1" if sheet_value else "0")
    if isinstance(sheet_value, (int, float)):
        return sheet_value == float(csv_value)
    return sheet_value == csv_value


def test_an_empty_export_has_each_tables_header_and_no_rows(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    """Nothing in the dates asked for: every CSV and every sheet is its header and nothing else."""
    from openpyxl import load_workbook

    far_off = app_clock.today("Europe/London") + timedelta(days=400)
    export(engine, tmp_path / "csv", date_from=far_off)
    export(engine, tmp_path / "x", format=ExportFormat.xlsx, date_from=far_off)
    book = load_workbook(tmp_path / "x" / "tend-export.xlsx", read_only=True)
    for name in ("practice_logs", "checkins", "scores", "item_responses", "attendance"):
        with (tmp_path / "csv" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            csv_rows = list(csv.reader(handle))
        sheet_rows = [list(row) for row in book[name].iter_rows(values_only=True)]
        assert len(csv_rows) == 1 and csv_rows[0], name
        assert sheet_rows == csv_rows, name


def test_workbook_holds_the_same_tables_with_readme_and_codebook(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    export(engine, tmp_path / "csv")
    export(engine, tmp_path / "x", format=ExportFormat.xlsx)
    book = load_workbook(tmp_path / "x" / "tend-export.xlsx", read_only=True)
    assert book.sheetnames[:2] == ["README", "codebook"]
    for name in (
        "practice_logs",
        "checkins",
        "scores",
        "item_responses",
        "attendance",
        "adherence_weekly",
    ):
        with (tmp_path / "csv" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            csv_header, *csv_rows = list(csv.reader(handle))
        # A read-only sheet's row ends at its last filled cell: blank cells after it are
        # blank cells, as the CSV's empty fields are.
        sheet_rows = [
            (*row, *(None,) * (len(csv_header) - len(row)))
            for row in book[name].iter_rows(values_only=True)
        ]
        # The header row always, an empty table included: a header and nothing else.
        assert list(sheet_rows[0]) == csv_header, name
        assert len(sheet_rows) - 1 == len(csv_rows), name
        different = [
            (name, row_number, column, sheet_value, csv_value)
            for row_number, (sheet_row, csv_row) in enumerate(
                zip(sheet_rows[1:], csv_rows, strict=True), start=1
            )
            for column, sheet_value, csv_value in zip(csv_header, sheet_row, csv_row, strict=True)
            if not _same_cell(sheet_value, csv_value)
        ]
        assert different == []
    first_log = list(book["practice_logs"].iter_rows(values_only=True))[1]
    assert isinstance(first_log[5], datetime) and isinstance(first_log[8], datetime)  # typed
    readme = " ".join(str(r[0]) for r in book["README"].iter_rows(values_only=True) if r[0])
    assert "Adherence rule" in readme
