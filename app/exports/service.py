"""Writing an export bundle: tidy CSVs, their codebook, a README and a manifest of hashes."""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.clinics.models import User
from app.db import utcnow
from app.errors import Forbidden
from app.exports.tables import TABLES, Column, Table
from app.groups import service as groups_service
from app.groups.models import Group

BUNDLE_VERSION = "1"


@dataclass(frozen=True)
class FileSummary:
    sha256: str
    rows: int


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: dict[str, FileSummary]
    group_codes: list[str]


class _HashingWriter(io.TextIOBase):
    """A text sink that hashes and writes what it is given: no second pass over big files."""

    def __init__(self, raw: io.BufferedWriter) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.digest.update(data)
        self._raw.write(data)
        return len(text)


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> FileSummary:
    count = 0
    with path.open("wb") as raw:
        sink = _HashingWriter(raw)
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return FileSummary(sha256=sink.digest.hexdigest(), rows=count)


def _codebook_rows(tables: Sequence[Table]) -> Iterable[tuple[str, ...]]:
    for table in tables:
        for column in table.columns:
            yield (
                table.file,
                column.name,
                column.label,
                column.type,
                column.allowed,
                column.units,
                column.missing,
            )


CODEBOOK_HEADER = ("file", "variable", "label", "type", "allowed_values", "units", "missing")


def exportable_groups(session: Session, *, actor: User, codes: Sequence[str] = ()) -> list[Group]:
    """The groups an export may include: the ones named, each checked, or all the actor sees."""
    if not actor.is_staff:
        raise Forbidden("Only clinic staff can export data.")
    if codes:
        return [groups_service.get_group_for_staff(session, code=c, viewer=actor) for c in codes]
    return list(groups_service.visible_groups(session, viewer=actor))


def write_bundle(
    session: Session, *, actor: User, out_dir: Path, group_codes: Sequence[str] = ()
) -> ExportResult:
    """Write the export bundle for the actor's groups into ``out_dir`` and audit it."""
    groups = exportable_groups(session, actor=actor, codes=group_codes)
    group_ids = [g.id for g in groups if g.id is not None]
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, FileSummary] = {}
    for table in TABLES:
        files[table.file] = _write_csv(
            out_dir / table.file, [c.name for c in table.columns], table.rows(session, group_ids)
        )
    files["codebook.csv"] = _write_csv(
        out_dir / "codebook.csv", CODEBOOK_HEADER, _codebook_rows(TABLES)
    )
    codes = [g.code for g in groups]
    created = utcnow()
    (out_dir / "README.md").write_text(_readme(codes, files, created, actor), encoding="utf-8")
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "created_at": created.isoformat(),
        "groups": codes,
        "files": {name: {"sha256": s.sha256, "rows": s.rows} for name, s in files.items()},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    audit.record(
        session,
        action="export",
        actor=actor,
        object_type="export",
        format="bundle",
        groups=codes,
        files={name: {"sha256": s.sha256, "rows": s.rows} for name, s in files.items()},
    )
    return ExportResult(directory=out_dir, files=files, group_codes=codes)


def _readme(codes: list[str], files: dict[str, FileSummary], created: datetime, actor: User) -> str:
    lines = [
        "# Tend export bundle",
        "",
        f"Created {created.isoformat()} by a {actor.role.value} account.",
        f"Groups: {', '.join(codes) or '(none)'}.",
        f"Bundle format version {BUNDLE_VERSION}.",
        "",
        "Participants appear only by their pseudonymous participant code. Names, contact",
        "details and free text are not included. Every variable is described in codebook.csv;",
        "manifest.json lists each file's SHA-256 and row count.",
        "",
        "| file | rows |",
        "| --- | --- |",
        *(f"| {name} | {summary.rows} |" for name, summary in files.items()),
        "",
    ]
    return "\n".join(lines)


def zip_directory(directory: Path) -> bytes:
    """The bundle folder as a zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, arcname=path.name)
    return buffer.getvalue()


def columns_of(file: str) -> Sequence[Column]:
    """The columns of an export file, as the codebook describes them."""
    return next(table.columns for table in TABLES if table.file == file)
