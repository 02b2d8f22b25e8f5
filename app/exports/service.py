"""Writing exports: the tidy CSV bundle, an XLSX workbook, REDCap files and a FHIR R4 bundle.

Every format reads the same tables (app/exports/tables.py) through one pipeline: rows are
filtered by date, participant codes pseudonymised under the study key, dates shifted per
participant when asked, and written as they stream from the database, hashed on the way.
"""

import csv
import hashlib
import hmac
import io
import json
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.clinics.models import Role, User
from app.consent import service as consent_service
from app.db import utcnow
from app.errors import Forbidden, InvalidInput
from app.exports import fhir, redcap, tables
from app.exports.formulas import CODEBOOK_NOTE, as_text
from app.exports.tables import REFLECTIONS, TABLES, Column, Table
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.programme import service as programme_service

BUNDLE_VERSION = "2"
EXPORT_ROLES = frozenset({Role.clinician, Role.admin})
# Per-group date shifts are whole days in [-MAX_SHIFT_DAYS, -1] or [1, MAX_SHIFT_DAYS].
MAX_SHIFT_DAYS = 365
# 20 characters of a passphrase or more; Tend's generated keys are 32 (192 random bits).
MIN_STUDY_KEY_LENGTH = 20
FINGERPRINT_SALT = b"tend-study-key-fingerprint"


class ExportFormat(StrEnum):
    bundle = "bundle"
    xlsx = "xlsx"
    fhir = "fhir"
    redcap = "redcap"


@dataclass(frozen=True)
class ExportRequest:
    """What a clinician asked for: which groups and dates, in what form, pseudonymised how."""

    format: ExportFormat = ExportFormat.bundle
    group_codes: Sequence[str] = ()
    date_from: date | None = None
    date_to: date | None = None
    study_key: str = ""
    date_shift: bool = False
    free_text: bool = False
    # Leave out participants who did not agree to evaluation use (or were never asked).
    consented_only: bool = False

    def filters(self, fingerprint: str | None) -> dict[str, Any]:
        """The filters as the README and the audit trail state them (never the key itself)."""
        return {
            "groups": list(self.group_codes),
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "pseudonymised": bool(self.study_key),
            "study_key_fingerprint": fingerprint,
            "date_shift": self.date_shift,
            "free_text": self.free_text,
            "consented_only": self.consented_only,
        }


@dataclass(frozen=True)
class FileSummary:
    sha256: str
    rows: int


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: dict[str, FileSummary]
    group_codes: list[str]
    format: ExportFormat = ExportFormat.bundle
    # The tables' own row counts (for XLSX and REDCap files that hold several tables).
    table_rows: dict[str, int] = field(default_factory=dict)


def key_fingerprint(study_key: str) -> str:
    """A short fingerprint of the study key, to tell exports made with the same key apart.

    scrypt (16 MiB, about 50 ms a guess) rather than a fast hash: the fingerprint sits in the
    README and the audit trail, and must not let anyone try keys against it cheaply.
    """
    digest = hashlib.scrypt(study_key.encode(), salt=FINGERPRINT_SALT, n=2**14, r=8, p=1, dklen=8)
    return digest.hex()[:12]


def check_study_key(study_key: str) -> None:
    """Refuse a key short enough to guess: every pseudonym is only as strong as the key."""
    if study_key and len(study_key) < MIN_STUDY_KEY_LENGTH:
        raise InvalidInput(
            f"Use a study key of at least {MIN_STUDY_KEY_LENGTH} characters (or leave it "
            "blank to generate one): a short key lets anyone with the export link "
            "pseudonyms back to participant codes.",
            field="study_key",
        )


def generate_study_key() -> str:
    """A fresh study key: 192 random bits, shown once and never stored by Tend."""
    return secrets.token_urlsafe(24)


class Pseudonymiser:
    """Participant and group codes, row ids and date shifts under one study key (none: real
    codes and ids, no shift). Every pseudonym is a keyed HMAC-SHA256, each kind under its own
    label, so the same value is the same pseudonym across files and exports with the key."""

    def __init__(self, study_key: str = "", *, date_shift: bool = False) -> None:
        if date_shift and not study_key:
            raise InvalidInput("Date shifting needs a study key.", field="study_key")
        check_study_key(study_key)
        self._key = study_key.encode()
        self.fingerprint = key_fingerprint(study_key) if study_key else None
        self.date_shift = date_shift
        self._cache: dict[tuple[str, str], str] = {}
        self._shifts: dict[str, timedelta] = {}

    @property
    def active(self) -> bool:
        """Whether codes or dates change at all."""
        return bool(self._key)

    def _keyed(self, kind: str, value: str, prefix: str, digits: int) -> str:
        cached = self._cache.get((kind, value))
        if cached is None:
            message = f"{kind}:{value}".encode() if kind != "participant" else value.encode()
            digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
            cached = self._cache[(kind, value)] = f"{prefix}{digest[:digits].upper()}"
        return cached

    def code(self, participant_code: str) -> str:
        """The participant's code in this export: stable within a study, unrelated across."""
        if not self._key:
            return participant_code
        return self._keyed("participant", participant_code, "S-", 16)

    def group(self, group_code: str) -> str:
        """The group's code in this export."""
        if not self._key:
            return group_code
        return self._keyed("group", group_code, "G-", 12)

    def row_id(self, row_id: Any) -> Any:
        """A row's id (a log, rating, reflection or questionnaire) in this export: still
        unique and still joining the files, but not the id the clinic's database holds."""
        if not self._key or row_id is None or row_id == "":
            return row_id
        return self._keyed("row", str(row_id), "R-", 32)

    def pseudonym(self, kind: str, value: Any) -> Any:
        """``value`` replaced as a column of this ``kind`` says (see Column.pseudonym)."""
        if kind == "participant":
            return self.code(value)
        if kind == "group":
            return self.group(value)
        return self.row_id(value)

    def shift(self, group_code: str) -> timedelta:
        """The whole-day shift applied to all dates of this group (zero when off).

        Per group, not per participant: everyone in a group meets on the same days, so a
        per-participant shift would be undone by lining up their session dates.
        """
        if not self.date_shift:
            return timedelta(0)
        cached = self._shifts.get(group_code)
        if cached is None:
            digest = hmac.new(
                self._key, b"date-shift:group:" + group_code.encode(), hashlib.sha256
            ).digest()
            n = int.from_bytes(digest[:8], "big") % (2 * MAX_SHIFT_DAYS)
            days = n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1
            cached = self._shifts[group_code] = timedelta(days=days)
        return cached


def _as_temporal(value: Any) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):  # datetime is a date too
        return value
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)


def _day_of(value: Any) -> date | None:
    moment = _as_temporal(value)
    if isinstance(moment, datetime):
        return moment.date()
    return moment


def prepared_rows(
    session: Session,
    table: Table,
    group_ids: Sequence[int],
    *,
    request: ExportRequest,
    pseudonymiser: Pseudonymiser,
) -> Iterator[tuple[Any, ...]]:
    """The table's rows, filtered by date, pseudonymised and date-shifted, as they stream."""
    names = [c.name for c in table.columns]
    temporal = [i for i, c in enumerate(table.columns) if c.type in ("date", "datetime")]
    replaced = [(i, c.pseudonym) for i, c in enumerate(table.columns) if c.pseudonym]
    group_index = names.index("group_code")
    date_index = names.index(table.date_column) if table.date_column else None
    first, last = request.date_from, request.date_to
    if not (first or last or pseudonymiser.active):
        yield from table.rows(session, group_ids)
        return
    for row in table.rows(session, group_ids):
        if date_index is not None and (first or last):
            day = _day_of(row[date_index])
            if day is None or (first and day < first) or (last and day > last):
                continue
        values = list(row)
        if pseudonymiser.date_shift:
            delta = pseudonymiser.shift(row[group_index])
            for i in temporal:
                moment = _as_temporal(values[i])
                values[i] = None if moment is None else moment + delta
        if pseudonymiser.active:
            for i, kind in replaced:
                values[i] = pseudonymiser.pseudonym(kind, values[i])
        yield tuple(values)


def cell(value: Any) -> Any:
    """One value as it is written to a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, str):
        return as_text(value)
    return value


def _iso(value: Any) -> Any:
    return value if isinstance(value, str) else value.isoformat()


def _converters(
    columns: Sequence[Column] | None, *, csv_ready: bool
) -> list[tuple[int, Callable[[Any], Any]]]:
    """Per-column conversions for CSV: booleans, dates (unless the rows are CSV-ready) and
    text a person typed, which must not run as a formula (None writes blank)."""
    if columns is None:
        return []
    by_type: dict[str, Callable[[Any], Any]] = (
        {} if csv_ready else {"boolean": int, "date": _iso, "datetime": _iso}
    )
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for i, column in enumerate(columns):
        if column.typed_by_person:
            converters.append((i, as_text))
        elif column.type in by_type:
            converters.append((i, by_type[column.type]))
    return converters


class _HashingSink:
    """CSV text gathered in memory and written in blocks, hashed on the way: one pass."""

    BLOCK_ROWS = 2000

    def __init__(self, raw: io.BufferedWriter) -> None:
        self._raw = raw
        self.buffer = io.StringIO()
        self.digest = hashlib.sha256()

    def flush(self) -> None:
        data = self.buffer.getvalue().encode("utf-8")
        self.buffer.seek(0)
        self.buffer.truncate(0)
        self.digest.update(data)
        self._raw.write(data)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    columns: Sequence[Column] | None = None,
    *,
    csv_ready: bool = False,
) -> FileSummary:
    """Write a CSV as the rows come, hashing as it goes.

    With ``columns``, values are converted by their codebook type (fast; only text typed by
    a person when the rows are ``csv_ready``); without, each value is converted by what it is.
    """
    count = 0
    converters = _converters(columns, csv_ready=csv_ready)
    block = _HashingSink.BLOCK_ROWS
    with path.open("wb") as raw:
        sink = _HashingSink(raw)
        writer = csv.writer(sink.buffer, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            if columns is None:
                row = [cell(v) for v in row]
            elif converters:
                row = list(row)
                for i, convert in converters:
                    value = row[i]
                    if value is not None:
                        row[i] = convert(value)
            writer.writerow(row)
            count += 1
            if count % block == 0:
                sink.flush()
        sink.flush()
    return FileSummary(sha256=sink.digest.hexdigest(), rows=count)


def file_summary(path: Path, rows: int) -> FileSummary:
    """SHA-256 of a finished file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return FileSummary(sha256=digest.hexdigest(), rows=rows)


CODEBOOK_HEADER = (
    "file",
    "variable",
    "label",
    "type",
    "allowed_values",
    "units",
    "missing",
    "derivation",
    "loinc",
)


def codebook_rows(
    tables_: Sequence[Table], *, rules: dict[str, str], pseudonymiser: Pseudonymiser
) -> Iterator[tuple[str, ...]]:
    """One row per variable: meaning, type, allowed values, units, missing, derivation, LOINC."""
    rule_text = " ".join(f"[{programme}] {text}" for programme, text in rules.items())
    for table in tables_:
        for column in table.columns:
            derivation = column.derivation
            if table.file == "adherence_weekly.csv" and column.name in (
                "practice_days",
                "met_target",
                "completer",
            ):
                derivation = f"{derivation}. Rule: {rule_text}"
            if pseudonymiser.date_shift and column.type in ("date", "datetime"):
                derivation = (f"{derivation}; " if derivation else "") + (
                    "shifted by the group's whole-day offset (intervals within a group "
                    "preserved, across groups not)"
                )
            if pseudonymiser.active and column.pseudonym == "row":
                derivation = (f"{derivation}; " if derivation else "") + (
                    "replaced by R- and 32 hex digits of HMAC-SHA256(study key, id): unique "
                    "and joining the files, but not the clinic's id"
                )
            if column.typed_by_person:
                derivation = (f"{derivation}. " if derivation else "") + CODEBOOK_NOTE
            yield (
                table.file,
                column.name,
                column.label,
                column.type,
                column.allowed,
                column.units,
                column.missing,
                derivation,
                column.loinc,
            )


def exportable_groups(session: Session, *, actor: User, codes: Sequence[str] = ()) -> list[Group]:
    """The groups an export may include: the ones named, each checked, or all the actor sees."""
    if actor.role not in EXPORT_ROLES:
        raise Forbidden("Only clinicians and admins can export data.")
    if codes:
        return [groups_service.get_group_for_staff(session, code=c, viewer=actor) for c in codes]
    return list(groups_service.visible_groups(session, viewer=actor))


def adherence_rules(session: Session, groups: Sequence[Group]) -> dict[str, str]:
    """Each programme's adherence rule in words, keyed by programme key."""
    rules: dict[str, str] = {}
    for group in groups:
        programme = programme_service.get_programme(session, group.programme_id)
        if programme.key not in rules:
            rules[programme.key] = programme_service.adherence_rule(
                session, programme, clinic_id=group.clinic_id
            ).describe()
    return rules


CONSENT_COLUMN = Column(
    "consent_evaluation",
    "boolean",
    "Agreed that their answers may be used, without their name, to evaluate the service",
    allowed="1 = yes, 0 = no",
    missing="blank = never asked (no evaluation statement answered)",
    derivation="The participant's latest answer to the clinic's evaluation statement",
)


def evaluation_consent(session: Session, groups: Sequence[Group]) -> dict[str, bool | None]:
    """Each participant's latest answer to evaluation use, by participant code."""
    answers: dict[str, bool | None] = {}
    for clinic_id in {g.clinic_id for g in groups}:
        enrolled = session.exec(
            select(Enrolment.participant_code, Enrolment.user_id).where(
                col(Enrolment.group_id).in_([g.id for g in groups if g.clinic_id == clinic_id])
            )
        ).all()
        statuses = consent_service.statuses(
            session, clinic_id=clinic_id, user_ids=[user_id for _, user_id in enrolled]
        )
        answers.update({code: statuses[user_id].evaluation for code, user_id in enrolled})
    return answers


def _app_version() -> str:
    try:
        return metadata.version("tend")
    except metadata.PackageNotFoundError:
        return "unknown"


def _check(request: ExportRequest, actor: User) -> None:
    if request.date_from and request.date_to and request.date_from > request.date_to:
        raise InvalidInput("The end date is before the start date.", field="date_to")
    if request.free_text and actor.role not in EXPORT_ROLES:
        raise Forbidden("Only clinicians and admins can export free text.")


@dataclass
class _Context:
    session: Session
    actor: User
    request: ExportRequest
    groups: list[Group]
    group_ids: list[int]
    pseudonymiser: Pseudonymiser
    rules: dict[str, str]
    created: datetime
    # Each participant's answer to the evaluation statement (None: never asked).
    consent: dict[str, bool | None] = field(default_factory=dict)
    erased: int = 0

    @property
    def tables(self) -> tuple[Table, ...]:
        chosen = (*TABLES, REFLECTIONS) if self.request.free_text else TABLES
        return tuple(self._with_consent_column(table) for table in chosen)

    def _consented(self, participant_code: str) -> bool:
        return not self.request.consented_only or self.consent.get(participant_code) is True

    def _with_consent_column(self, table: Table) -> Table:
        """The table with `consent_evaluation` last (the formats with their own layouts,
        REDCap and FHIR, read the plain tables and are only filtered)."""
        plain_rows = table.rows

        def rows(session: Session, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
            for row in plain_rows(session, group_ids):
                if self._consented(row[0]):
                    answer = self.consent.get(row[0])
                    # Ready-to-write tables hold booleans as 1/0 already (None writes blank).
                    yield (*row, int(answer) if table.csv_ready and answer is not None else answer)

        return replace(table, columns=(*table.columns, CONSENT_COLUMN), rows=rows)

    def rows(self, table: Table) -> Iterator[tuple[Any, ...]]:
        if CONSENT_COLUMN not in table.columns and self.request.consented_only:
            plain_rows = table.rows
            table = replace(
                table,
                rows=lambda session, ids: (
                    row for row in plain_rows(session, ids) if self._consented(row[0])
                ),
            )
        return prepared_rows(
            self.session,
            table,
            self.group_ids,
            request=self.request,
            pseudonymiser=self.pseudonymiser,
        )


def run_export(
    session: Session, *, actor: User, request: ExportRequest, out_dir: Path
) -> ExportResult:
    """Write the requested export into ``out_dir`` and record it in the audit trail."""
    _check(request, actor)
    groups = exportable_groups(session, actor=actor, codes=request.group_codes)
    context = _Context(
        session=session,
        actor=actor,
        request=request,
        groups=groups,
        group_ids=[g.id for g in groups if g.id is not None],
        pseudonymiser=Pseudonymiser(request.study_key, date_shift=request.date_shift),
        rules=adherence_rules(session, groups),
        created=utcnow(),
        consent=evaluation_consent(session, groups),
        erased=groups_service.erased_count(session, group_ids=[g.id or 0 for g in groups]),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _WRITERS[request.format]
    files, table_rows = writer(context, out_dir)
    codes = [g.code for g in groups]
    audit.record(
        session,
        action="export",
        actor=actor,
        object_type="export",
        format=request.format.value,
        groups=codes,
        filters={**request.filters(context.pseudonymiser.fingerprint), "groups": codes},
        files={name: {"sha256": s.sha256, "rows": s.rows} for name, s in files.items()},
        table_rows=table_rows,
    )
    return ExportResult(
        directory=out_dir,
        files=files,
        group_codes=codes,
        format=request.format,
        table_rows=table_rows,
    )


def write_bundle(
    session: Session,
    *,
    actor: User,
    out_dir: Path,
    group_codes: Sequence[str] = (),
    request: ExportRequest | None = None,
) -> ExportResult:
    """Write the CSV bundle for the actor's groups into ``out_dir`` and audit it."""
    request = replace(request or ExportRequest(), format=ExportFormat.bundle)
    if group_codes:
        request = replace(request, group_codes=tuple(group_codes))
    return run_export(session, actor=actor, request=request, out_dir=out_dir)


def _write_bundle(
    context: _Context, out_dir: Path
) -> tuple[dict[str, FileSummary], dict[str, int]]:
    files: dict[str, FileSummary] = {}
    for table in context.tables:
        files[table.file] = write_csv(
            out_dir / table.file,
            [c.name for c in table.columns],
            context.rows(table),
            table.columns,
            csv_ready=table.csv_ready and not context.pseudonymiser.date_shift,
        )
    files["codebook.csv"] = write_csv(
        out_dir / "codebook.csv",
        CODEBOOK_HEADER,
        codebook_rows(context.tables, rules=context.rules, pseudonymiser=context.pseudonymiser),
    )
    counts = {name: s.rows for name, s in files.items()}
    (out_dir / "README.md").write_text(readme(context, counts), encoding="utf-8")
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "created_at": context.created.isoformat(),
        "groups": [context.pseudonymiser.group(g.code) for g in context.groups],
        "files": {name: {"sha256": s.sha256, "rows": s.rows} for name, s in files.items()},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return files, counts


def readme_lines(context: _Context, counts: dict[str, int]) -> list[str]:
    """The README's text: filters, counts, versions, the adherence rule, pseudonymisation."""
    request = context.request
    pseudo = context.pseudonymiser
    lines = [
        "# Tend export",
        "",
        f"Created {context.created.isoformat()} by a {context.actor.role.value} account.",
        f"Format: {request.format.value} (bundle format version {BUNDLE_VERSION}); "
        f"Tend {_app_version()}.",
        "",
        "## Filters",
        "",
        f"- Groups: {', '.join(pseudo.group(g.code) for g in context.groups) or '(none)'}",
        f"- From: {request.date_from.isoformat() if request.date_from else '(start)'}",
        f"- To: {request.date_to.isoformat() if request.date_to else '(today)'}",
        "- The date range applies to local_date (practice, check-ins), completed_at (scores, "
        "item responses), session_date (attendance), week_start (adherence), created_at "
        "(reflections); before any date shift.",
        "",
        "## Adherence rule",
        "",
        *(f"- {programme}: {text}" for programme, text in context.rules.items()),
        "",
        "## Pseudonymisation",
        "",
    ]
    if request.study_key:
        lines.append(
            "Participant codes are replaced by `S-` and the first 16 hex digits of "
            "HMAC-SHA256(study key, participant code), group codes by `G-` and 12 hex digits, "
            "and row ids (log_id, checkin_id, practice_log_id, reflection_id, questionnaire "
            "ids) by `R-` and 32 hex digits, each kind under its own label: the same under the "
            "same study key, unrelated under another, and joinable across files. Study key "
            f"fingerprint (scrypt): {pseudo.fingerprint}."
        )
    else:
        lines.append(
            "Participants appear by the clinic's pseudonymous participant code (no study key)."
        )
    if pseudo.date_shift:
        lines.append(
            "Dates are shifted per group: every date and time of everyone in a group moves by "
            f"the same whole number of days (between 1 and {MAX_SHIFT_DAYS}, earlier or later, "
            "derived from the study key), so intervals within a group (between participants "
            "and their group sessions too) are preserved; intervals across groups, calendar "
            "dates, weekdays and seasons are not."
        )
    else:
        lines.append("Dates are not shifted.")
    lines.append(
        "Names, contact details and logins are never included. Free text (reflections) is "
        + ("INCLUDED in reflections.csv." if request.free_text else "not included.")
    )
    lines += [
        "",
        "## Consent and erasure",
        "",
        "consent_evaluation (bundle and workbook) is each participant's latest answer to the "
        "clinic's evaluation statement: 1 yes, 0 no, blank never asked.",
        "Only participants who agreed to evaluation use are included."
        if request.consented_only
        else "Everyone is included, whatever their answer.",
        f"{context.erased} participant(s) withdrew and had what they recorded erased: their "
        "practice, ratings and words are in no file.",
    ]
    described = {table.file: table.description for table in context.tables}
    lines += [
        "",
        "## Files",
        "",
        "| file | rows | holds |",
        "| --- | --- | --- |",
        *(f"| {name} | {rows} | {described.get(name, '')} |" for name, rows in counts.items()),
        "",
        "Every variable is described in codebook.csv (meaning, type, allowed values, units, "
        "missing codes, derivation, LOINC). manifest.json lists each file's SHA-256 and rows.",
        "",
    ]
    return lines


def readme(context: _Context, counts: dict[str, int]) -> str:
    """The README as Markdown."""
    return "\n".join(readme_lines(context, counts))


def _write_xlsx(context: _Context, out_dir: Path) -> tuple[dict[str, FileSummary], dict[str, int]]:
    from app.exports import xlsx  # openpyxl loads only when a workbook is asked for

    path = out_dir / "tend-export.xlsx"
    counts = xlsx.write_workbook(
        path,
        tables=[(t, context.rows(t)) for t in context.tables],
        codebook_header=CODEBOOK_HEADER,
        codebook=codebook_rows(
            context.tables, rules=context.rules, pseudonymiser=context.pseudonymiser
        ),
        readme=lambda counts: readme_lines(context, counts),
    )
    return {path.name: file_summary(path, sum(counts.values()))}, counts


def _write_redcap(
    context: _Context, out_dir: Path
) -> tuple[dict[str, FileSummary], dict[str, int]]:
    dictionary = out_dir / "redcap_data_dictionary.csv"
    records = out_dir / "redcap_records.csv"
    dictionary_rows = redcap.dictionary_rows(rules=context.rules)
    files = {dictionary.name: write_csv(dictionary, redcap.DICTIONARY_HEADER, dictionary_rows)}
    participants = (
        (context.pseudonymiser.code(code), context.pseudonymiser.group(group))
        for code, group in redcap.participants(context.session, context.group_ids)
    )
    counts: dict[str, int] = {}
    record_rows = redcap.record_rows(
        participants,
        {t.file: context.rows(t) for t in TABLES},
        counts=counts,
    )
    files[records.name] = write_csv(records, redcap.record_header(), record_rows)
    (out_dir / "README.md").write_text(
        readme(context, {**counts, **{n: s.rows for n, s in files.items()}})
        + "\n"
        + redcap.IMPORT_NOTES,
        encoding="utf-8",
    )
    return files, counts


def _check_in_records(context: _Context) -> Iterator[fhir.CheckInRecord]:
    checkins = next(t for t in TABLES if t.file == "checkins.csv")
    names = [c.name for c in checkins.columns]
    for row in context.rows(checkins):
        values = dict(zip(names, row, strict=True))
        yield fhir.CheckInRecord(
            participant_code=values["participant_code"],
            checkin_id=values["checkin_id"],
            recorded_at=values["recorded_at"],
            pain_intensity=values["pain_intensity"],
            pain_distress=values["pain_distress"],
            mood=values["mood"],
        )


def _score_records(context: _Context) -> Iterator[fhir.ScoreRecord]:
    first, last = context.request.date_from, context.request.date_to
    pseudo = context.pseudonymiser
    for record in tables.score_records(context.session, context.group_ids):
        day = record.completed_at.date()
        if (first and day < first) or (last and day > last):
            continue
        yield replace(
            record,
            administration_id=str(pseudo.row_id(record.administration_id)),
            participant_code=pseudo.code(record.participant_code),
            completed_at=record.completed_at + pseudo.shift(record.group_code),
        )


def _write_fhir(context: _Context, out_dir: Path) -> tuple[dict[str, FileSummary], dict[str, int]]:
    path = out_dir / "tend-fhir-bundle.json"
    counts = fhir.write_bundle(
        path,
        scores=_score_records(context),
        check_ins=_check_in_records(context),
        timestamp=context.created,
    )
    return {path.name: file_summary(path, sum(counts.values()))}, counts


_WRITERS: dict[
    ExportFormat, Callable[[_Context, Path], tuple[dict[str, FileSummary], dict[str, int]]]
] = {
    ExportFormat.bundle: _write_bundle,
    ExportFormat.xlsx: _write_xlsx,
    ExportFormat.redcap: _write_redcap,
    ExportFormat.fhir: _write_fhir,
}


def zip_to_file(directory: Path, target: Path) -> None:
    """The folder as a zip archive written to ``target``, streamed from disk to disk."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, arcname=path.name)


def remove_tree(path: Path) -> None:
    """Remove a temporary export folder."""
    shutil.rmtree(path, ignore_errors=True)
