"""The first end-to-end loop: a patient records a practice, their facilitator sees it, a
clinician exports it. Through the pages and the CLI, against a real database."""

import csv
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from tests.factories import PASSWORD, World
from tests.pages import sign_in_through_page, submit, visible_text


def log_practice_on_the_page(client: TestClient) -> None:
    assert sign_in_through_page(client, "P-A1", PASSWORD).headers["location"] == "/today"
    today = client.get("/today")
    assert "Week 2 The body" in visible_text(today.text)
    body_scan = re.search(r'<option value="(\d+)"[^>]*>Body scan<', today.text)
    assert body_scan is not None
    saved = submit(
        client,
        "/today",
        "/today/practice",
        {
            "practice": body_scan[1],
            "minutes": "9",
            "completed": "yes",
            "timezone": "Europe/London",
            "before_pain_intensity": "7",
            "after_pain_intensity": "5",
            "after_mood": "6",
        },
    )
    assert saved.status_code == 303, saved.text
    client.post("/logout", data={}, headers={"Sec-Fetch-Site": "same-origin"})
    client.cookies.clear()


@pytest.mark.clock
def test_patient_records_facilitator_sees_clinician_exports(
    client: TestClient, world: World, engine: Engine, tmp_path: Path
) -> None:
    log_practice_on_the_page(client)

    sign_in_through_page(client, "fa@one.example", PASSWORD)
    group_page = visible_text(client.get("/groups/GRP-A").text)
    # The engagement board: nine minutes is some practice, under the 10-minute practice day.
    assert "some practice, under the daily target" in group_page
    assert re.search(r"P-A1 .* 0 9 ", group_page)  # no practice day by the rule, nine minutes
    client.cookies.clear()

    sign_in_through_page(client, "clinician@one.example", PASSWORD)
    download = submit(client, "/exports", "/exports", {"groups": "GRP-A"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"

    import io
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert set(archive.namelist()) >= {
        "practice_logs.csv",
        "checkins.csv",
        "codebook.csv",
        "scores.csv",
        "attendance.csv",
        "README.md",
        "manifest.json",
    }
    logs = list(csv.DictReader(io.StringIO(archive.read("practice_logs.csv").decode())))
    assert [(row["participant_code"], row["listened_seconds"]) for row in logs] == [("P-A1", "540")]
    check_ins = list(csv.DictReader(io.StringIO(archive.read("checkins.csv").decode())))
    assert sorted((r["moment"], r["pain_intensity"], r["mood"]) for r in check_ins) == [
        ("after", "5", "6"),
        ("before", "7", ""),
    ]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]["practice_logs.csv"]["rows"] == 1

    with open_session(engine) as session:
        exports = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert len(exports) == 1 and exports[0].detail["groups"] == ["GRP-A"]


def test_export_holds_no_names_or_logins(
    client: TestClient, world: World, engine: Engine, tmp_path: Path
) -> None:
    from app.clinics.models import User
    from app.exports import service as exports_service

    log_practice_on_the_page(client)
    with open_session(engine, write=True) as session:
        clinician = session.exec(select(User).where(User.login == "clinician@one.example")).one()
        exports_service.write_bundle(session, actor=clinician, out_dir=tmp_path / "bundle")
        session.commit()
    everything = "".join(p.read_text() for p in (tmp_path / "bundle").iterdir())
    for identifying in ("@one.example", "patient_a1", "Clinic One"):
        assert identifying not in everything


def test_codebook_describes_every_exported_column(
    world: World, engine: Engine, tmp_path: Path
) -> None:
    from app.clinics.models import User
    from app.exports import service as exports_service

    with open_session(engine, write=True) as session:
        clinician = session.exec(select(User).where(User.login == "clinician@one.example")).one()
        exports_service.write_bundle(session, actor=clinician, out_dir=tmp_path / "bundle")
        session.commit()
    tmp_path = tmp_path / "bundle"
    codebook = {
        (r["file"], r["variable"]) for r in csv.DictReader((tmp_path / "codebook.csv").open())
    }
    for name in ("practice_logs.csv", "checkins.csv", "scores.csv", "attendance.csv"):
        header = next(csv.reader((tmp_path / name).open()))
        assert {(name, column) for column in header} <= codebook
