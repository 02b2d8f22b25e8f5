"""The export page: who may use it, what each format downloads, errors next to fields."""

import io
import json
import zipfile
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import open_session
from tests.exports.conftest import Populated
from tests.exports.fhir_check import assert_valid_r4_bundle
from tests.factories import login
from tests.pages import hidden_fields, submit, visible_text


def test_clinicians_and_admins_see_the_page_facilitators_and_patients_do_not(
    populated: Populated, client: TestClient
) -> None:
    for who in ("clinician@one.example", "admin@one.example"):
        login(client, who)
        page = client.get("/exports")
        assert page.status_code == 200
        assert "GRP-A" in page.text and "Study key" in page.text
    for who in ("fa@one.example", "P-A1"):
        login(client, who)
        assert client.get("/exports").status_code == 403


def _exports_audited(engine: Engine) -> int:
    with open_session(engine) as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all())


def _refused_without_a_file(response: Response, reason: str) -> None:
    assert response.status_code == 403
    assert "content-disposition" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert reason in visible_text(response.text)


def test_facilitators_and_patients_with_a_valid_form_are_refused_the_export(
    populated: Populated, client: TestClient, engine: Engine, settings: Settings
) -> None:
    """The role check on its own: the form carries the session's real token."""
    for who in ("fa@one.example", "P-A1"):
        login(client, who)
        token = client.headers["X-CSRF-Token"]
        response = client.post(
            "/exports", data={"csrf_token": token, "format": "bundle", "groups": "GRP-A"}
        )
        _refused_without_a_file(response, "Only clinicians and admins can do this.")
    assert _exports_audited(engine) == 0
    assert not list(settings.data_dir.glob("**/*.zip"))


def test_a_clinicians_export_without_its_form_token_is_refused(
    populated: Populated, client: TestClient, engine: Engine, settings: Settings
) -> None:
    """The CSRF check on its own: the right person, a forged token."""
    login(client, "clinician@one.example")
    response = client.post(
        "/exports", data={"csrf_token": "forged", "format": "bundle", "groups": "GRP-A"}
    )
    _refused_without_a_file(response, "This form has expired")
    assert _exports_audited(engine) == 0
    assert not list(settings.data_dir.glob("**/*.zip"))


def test_bundle_downloads_as_a_zip_and_is_audited(
    populated: Populated, client: TestClient, engine: Engine
) -> None:
    login(client, "clinician@one.example")
    response = submit(client, "/exports", "/exports", {"groups": "GRP-B", "format": "bundle"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {
        "practice_logs.csv",
        "item_responses.csv",
        "README.md",
        "manifest.json",
        "codebook.csv",
    } <= set(archive.namelist())
    practice = archive.read("practice_logs.csv").decode()
    assert "P-B1" in practice and "P-A1" not in practice
    manifest = json.loads(archive.read("manifest.json"))
    with open_session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.detail["files"]["practice_logs.csv"] == manifest["files"]["practice_logs.csv"]


def test_each_format_downloads_its_file(populated: Populated, client: TestClient) -> None:
    login(client, "clinician@one.example")
    expected = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "fhir": "application/fhir+json",
        "redcap": "application/zip",
    }
    for name, media in expected.items():
        response = submit(
            client,
            "/exports",
            "/exports",
            {"format": name, "study_key": "a study key of twenty-plus characters"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media)
        assert "attachment" in response.headers["content-disposition"]
        if name == "fhir":
            assert_valid_r4_bundle(response.json())
    redcap = zipfile.ZipFile(io.BytesIO(response.content))
    assert {"redcap_data_dictionary.csv", "redcap_records.csv"} <= set(redcap.namelist())


def test_bad_input_shows_an_error_next_to_the_field_and_exports_nothing(
    populated: Populated, client: TestClient, engine: Engine
) -> None:
    login(client, "clinician@one.example")
    response = submit(client, "/exports", "/exports", {"format": "bundle", "date_shift": "1"})
    assert response.status_code == 422
    assert 'id="study_key-error"' in response.text
    assert "needs a study key" in visible_text(response.text)
    start = populated.start
    response = submit(
        client,
        "/exports",
        "/exports",
        {
            "format": "bundle",
            "date_from": start.isoformat(),
            "date_to": (start - timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 422 and 'id="date_to-error"' in response.text
    assert f'value="{start.isoformat()}"' in response.text  # what was typed is kept
    response = submit(client, "/exports", "/exports", {"format": "bundle", "date_from": "soon"})
    assert response.status_code == 422 and 'id="date_from-error"' in response.text
    with open_session(engine) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all() == []


def test_another_clinics_group_is_not_found(populated: Populated, client: TestClient) -> None:
    login(client, "clinician@two.example")
    page = client.get("/exports")
    assert "GRP-A" not in page.text
    response = client.post(
        "/exports",
        data={**hidden_fields(page.text), "groups": "GRP-A", "format": "bundle"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 404
