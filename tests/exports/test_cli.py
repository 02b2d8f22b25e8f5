"""`tend export` writes what the page downloads, in every format, and audits it."""

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.cli import cli
from app.db import open_session
from tests.exports.conftest import Populated
from tests.exports.fhir_check import assert_valid_r4_bundle


def test_export_command_writes_each_format(
    populated: Populated, runner: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    args = ["--as", "clinician@one.example"]
    result = runner.invoke(cli, ["export", "--out", str(tmp_path / "b"), "--group", "GRP-A", *args])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["groups"] == ["GRP-A"]
    assert manifest["files"]["practice_logs.csv"]["rows"] == 8
    assert "item_responses.csv" in manifest["files"]
    for name, produced in (
        ("xlsx", "tend-export.xlsx"),
        ("fhir", "tend-fhir-bundle.json"),
        ("redcap", "redcap_records.csv"),
    ):
        out = tmp_path / name
        result = runner.invoke(cli, ["export", "--out", str(out), "--format", name, *args])
        assert result.exit_code == 0, result.output
        assert (out / produced).exists()
    assert_valid_r4_bundle(json.loads((tmp_path / "fhir" / "tend-fhir-bundle.json").read_text()))
    with open_session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [e.detail["format"] for e in events] == ["bundle", "xlsx", "fhir", "redcap"]


def test_export_command_refuses_bad_options(
    populated: Populated, runner: CliRunner, tmp_path: Path
) -> None:
    out = str(tmp_path / "x")
    result = runner.invoke(cli, ["export", "--out", out, "--as", "fa@one.example"])
    assert result.exit_code == 2 and "not a clinician" in result.output
    result = runner.invoke(
        cli, ["export", "--out", out, "--as", "clinician@one.example", "--date-shift"]
    )
    assert result.exit_code == 2 and "study_key" in result.output
    result = runner.invoke(cli, ["export", "--out", out, "--format", "pdf"])
    assert result.exit_code == 2
