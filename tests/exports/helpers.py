"""Reading exports back as a researcher would."""

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.db import open_session
from app.exports import service as exports_service
from app.exports.service import ExportRequest, ExportResult
from tests.exports.conftest import actor


def export(
    engine: Engine, out: Path, *, login: str = "clinician@one.example", **request: Any
) -> ExportResult:
    """Run an export as ``login`` and commit it (with its audit event)."""
    user = actor(engine, login)
    with open_session(engine, write=True) as session:
        result = exports_service.run_export(
            session, actor=user, request=ExportRequest(**request), out_dir=out
        )
        session.commit()
    return result


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def typed(value: str, kind: str) -> Any:
    """A CSV cell parsed by the codebook's type (blank is missing)."""
    if value == "":
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        assert value in ("0", "1"), value
        return value == "1"
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        assert moment.tzinfo is not None, f"{value} has no offset"
        return moment
    assert kind == "string", kind
    return value
