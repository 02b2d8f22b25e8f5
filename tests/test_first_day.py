"""docs/deploy.md's "First day", step by step, from an empty database, in production."""

import re
import shlex
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app import clock
from app.cli import cli
from app.config import PROJECT_ROOT, Settings, get_settings
from app.main import create_app
from tests.pages import hidden_fields, submit, visible_text

DEPLOY = PROJECT_ROOT / "docs" / "deploy.md"
SECRET = "a-production-secret-for-the-first-day-test-0123456789"
LINK = re.compile(r"https?://\S+/join#code=([0-9A-Z-]+)")


def first_day_commands() -> list[list[str]]:
    """The `tend` commands of the first day's shell block, in order."""
    section = DEPLOY.read_text().split("## First day", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("tend ")]


@pytest.fixture
def production(
    settings: Settings, app_role_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Production settings; on PostgreSQL the app connects as the role docs/deploy.md sets up."""
    for name, value in {
        "TEND_ENVIRONMENT": "production",
        "TEND_SECRET_KEY": SECRET,
        "TEND_DATABASE_URL": app_role_url,
        "TEND_DATA_DIR": str(settings.data_dir),
        "TEND_PUBLIC_URL": "http://testserver",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield settings.model_copy(
        update={
            "environment": "production",
            "secret_key": SECRET,
            "database_url": app_role_url,
            "reminders_in_process": False,
        }
    )
    get_settings.cache_clear()


def accept_link(browser: TestClient, link_code: str, passphrase: str) -> None:
    """Open a one-time link (its code filled in from the fragment) and choose a passphrase."""
    page = browser.get("/join")
    assert page.status_code == 200
    answer = browser.post(
        "/join",
        data={**hidden_fields(page.text), "code": link_code, "password": passphrase},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def test_first_day_from_an_empty_database(
    production: Settings, settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    outputs = {}
    for args in first_day_commands():
        if args[:2] == ["audio", "build"]:
            continue  # renders speech for minutes; a practice can be logged without audio
        # PostgreSQL: migrations run as the tables' owner, everything else as the app's role.
        owner = {"TEND_DATABASE_URL": settings.resolved_database_url} if args == ["migrate"] else {}
        get_settings.cache_clear()  # each command is a new process, reading its environment
        result = runner.invoke(cli, args, env=owner)
        assert result.exit_code == 0, f"tend {' '.join(args)}:\n{result.output}"
        outputs[" ".join(args[:2])] = result.output
    assert outputs["clinic create"].strip() == "leeds-pain-service"
    admin_code = LINK.findall(outputs["staff invite"])[0]
    assert runner.invoke(cli, ["demo"]).exit_code == 2  # refused in production

    with TestClient(create_app(production)) as admin:
        # 1. Ann opens her link and chooses a passphrase.
        accept_link(admin, admin_code, "ann chooses a long passphrase")
        assert "Staff" in visible_text(admin.get("/groups").text)
        # 2. She invites a facilitator from /admin/staff; they accept their link.
        page = submit(
            admin,
            "/admin/staff",
            "/admin/staff",
            {"email": "fran@leeds.example", "name": "Fran Facilitator", "role": "facilitator"},
        )
        facilitator_code = LINK.findall(visible_text(page.text))[0]
        with TestClient(admin.app) as facilitator:
            accept_link(facilitator, facilitator_code, "fran chooses her own words")
            assert facilitator.get("/groups").status_code == 200
        # 3. She starts a group with the facilitator.
        form = admin.get("/groups/new").text
        fran_id = re.search(r'name="facilitators" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
        today = clock.today("Europe/London")
        started = admin.post(
            "/groups/new",
            data={
                **hidden_fields(form),
                "programme": re.search(r'<option value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
                "code": "TUE-SPRING",
                "name": "Tuesday group",
                "start_date": today.isoformat(),
                "first_session": f"{today + timedelta(days=1)}T10:30",
                "place": "Room 2",
                "facilitators": fran_id,
            },
            headers={"Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text
        # 4. She adds a patient and prints their invite.
        manage = "/groups/TUE-SPRING/manage"
        added = submit(admin, manage, "/groups/TUE-SPRING/patients", {"participant_code": "LP-001"})
        assert added.status_code == 303, added.text
        sheet = submit(
            admin,
            "/groups/TUE-SPRING/invites",
            "/groups/TUE-SPRING/invites",
            {"participants": "LP-001"},
        )
        patient_code = re.search(
            r"\b([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\b", visible_text(sheet.text)
        ).group(1)  # type: ignore[union-attr]

        # 5. The patient sets up their phone and logs a practice.
        with TestClient(admin.app) as phone:
            accept_link(phone, patient_code, "the patient's passphrase")
            assert phone.get("/today").status_code == 200
            csrf = hidden_fields(phone.get("/today").text).get("csrf_token", "")
            now = clock.now_in("Europe/London")
            logged = phone.post(
                "/api/v1/practice-logs",
                json={
                    "id": str(uuid.uuid4()),
                    "kind": "own",
                    "started_at": now.isoformat(),
                    "timezone": "Europe/London",
                    "local_date": now.date().isoformat(),
                    "listened_seconds": 300,
                    "completed": True,
                },
                headers={"X-CSRF-Token": csrf},
            )
            assert logged.status_code == 201, logged.text
        board = visible_text(admin.get("/groups/TUE-SPRING").text)
        assert "LP-001" in board

    # In production the command line asks who is acting instead of assuming a demo account.
    get_settings.cache_clear()
    summary = runner.invoke(
        cli, ["outcomes", "summary", "--format", "json"], input="ann.admin@leeds.example\n"
    )
    assert summary.exit_code == 0, summary.output
    assert "Your login (who is acting)" in summary.output and '"measures"' in summary.output
    refused = runner.invoke(cli, ["export", "--out", str(tmp_path / "x")], input="nobody\n")
    assert refused.exit_code == 2 and "nobody is not a clinician" in refused.output
