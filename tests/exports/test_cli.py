"""`tend export` writes the bundle a clinician would download."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from app.config import Settings
from tests.factories import build_world


def tend(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEND_DATABASE_URL": settings.resolved_database_url,
        "TEND_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, text=True, capture_output=True, timeout=120
    )


def test_tend_export_writes_the_contract_files(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    build_world(engine)
    out = tmp_path / "bundle"

    result = tend(
        settings, "export", "--out", str(out), "--group", "GRP-A", "--as", "clinician@one.example"
    )

    assert result.returncode == 0, result.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {
        "practice_logs.csv",
        "checkins.csv",
        "scores.csv",
        "attendance.csv",
        "codebook.csv",
        "README.md",
        "manifest.json",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) >= {"practice_logs.csv", "codebook.csv"}
    assert manifest["groups"] == ["GRP-A"]


def test_tend_export_refuses_a_facilitator_of_another_group(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    build_world(engine)
    result = tend(settings, "export", "--out", str(tmp_path / "x"), "--as", "fa@one.example")
    assert result.returncode == 2
    assert not (tmp_path / "x").exists()
