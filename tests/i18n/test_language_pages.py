"""The language a page is in: the person's choice, else their clinic's, else the browser's,
else English; chosen on the patient's Language page or the staff member's account page."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app.cli import cli
from app.clinics.models import Clinic, User
from app.db import open_session
from tests.factories import World, login
from tests.pages import sign_in_through_page, submit, visible_text

WELSH_BROWSER = {"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"}


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found, "no <html lang>"
    return found.group(1)


def _set(engine: Engine, *, clinic_language: str | None = "en", patient: str | None = None) -> None:
    """The clinic's default and patient P-A1's own choice, written as an admin would."""
    with open_session(engine, write=True) as session:
        clinic = session.exec(select(Clinic).where(Clinic.slug == "one")).one()
        clinic.default_language = clinic_language
        user = session.exec(select(User).where(User.login == "P-A1")).one()
        user.language = patient
        session.add_all([clinic, user])
        session.commit()


def _stored_language(engine: Engine, login_name: str) -> str | None:
    with open_session(engine) as session:
        return session.exec(select(User.language).where(User.login == login_name)).one()


@pytest.mark.parametrize(
    ("clinic_language", "patient_language", "browser", "expected"),
    [
        pytest.param("en", None, WELSH_BROWSER, "en-GB", id="clinic-default-before-browser"),
        pytest.param("cy", None, {}, "cy", id="clinic-default"),
        pytest.param("cy", "en", WELSH_BROWSER, "en-GB", id="person-before-clinic"),
        pytest.param("en", "cy", {}, "cy", id="person"),
        pytest.param(None, None, WELSH_BROWSER, "cy", id="browser-when-clinic-has-none"),
        pytest.param(None, None, {"Accept-Language": "fr, de;q=0.5"}, "en-GB", id="english"),
    ],
)
def test_the_page_language_follows_person_clinic_browser_then_english(
    client: TestClient,
    world: World,
    engine: Engine,
    clinic_language: str | None,
    patient_language: str | None,
    browser: dict[str, str],
    expected: str,
) -> None:
    _set(engine, clinic_language=clinic_language, patient=patient_language)
    login(client, "P-A1")

    today = client.get("/today", headers=browser)

    assert today.status_code == 200
    assert _lang(today.text) == expected
    assert ("Heddiw" in visible_text(today.text)) == (expected == "cy")


def test_before_signing_in_the_browser_language_is_used(client: TestClient, world: World) -> None:
    welsh = client.get("/login", headers=WELSH_BROWSER)
    english = client.get("/login")

    assert _lang(welsh.text) == "cy" and "Mewngofnodi" in visible_text(welsh.text)
    assert _lang(english.text) == "en-GB" and "Sign in" in visible_text(english.text)
    # A shared cache keeps the two apart.
    assert "Accept-Language" in welsh.headers["vary"]


def test_scripts_and_styles_do_not_vary_by_language(client: TestClient) -> None:
    """Only pages are worded per language. A script answered with `Vary: Accept-Language` is
    not found in the phone's offline copy when the page's request differs in that header: the
    PHQ-9 page's script then failed to load with no signal, and item 9's support never showed
    (tests/browser/test_safety.py)."""
    for path in ("/static/js/questionnaire.js", "/static/js/app.js", "/manifest.webmanifest"):
        answer = client.get(path, headers=WELSH_BROWSER)
        assert answer.status_code == 200
        assert "Accept-Language" not in answer.headers.get("vary", ""), path
    assert "Accept-Language" in client.get("/login", headers=WELSH_BROWSER).headers["vary"]


def test_a_wrong_sign_in_is_told_in_the_browser_language(client: TestClient, world: World) -> None:
    client.headers.update(WELSH_BROWSER)
    refused = sign_in_through_page(client, "P-A1", "not the passphrase")

    assert refused.status_code in (401, 422)
    assert "ddim yn cyfateb i gyfrif" in visible_text(refused.text)


def test_a_patient_finds_the_language_page_and_their_choice_is_stored(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "P-A1")
    assert 'href="/language"' in client.get("/more").text

    saved = submit(client, "/language", "/language", {"language": "cy"})

    assert saved.status_code == 303
    assert _stored_language(engine, "P-A1") == "cy"
    page = client.get(saved.headers["location"])
    assert _lang(page.text) == "cy"
    assert "Mae Tend bellach yn siarad yr iaith a ddewisoch chi." in visible_text(page.text)
    # Named in English too, so someone who cannot read the language they chose finds it again.
    assert "Iaith (Language)" in visible_text(client.get("/more").text)

    back = submit(client, "/language", "/language", {"language": ""})
    assert back.status_code == 303 and _stored_language(engine, "P-A1") is None
    assert _lang(client.get("/today").text) == "en-GB"  # the clinic's default again


def test_an_unknown_language_is_a_form_error_and_changes_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    _set(engine, patient="cy")
    login(client, "P-A1")

    refused = submit(client, "/language", "/language", {"language": "xx"})

    assert refused.status_code == 422
    assert 'id="language-error"' in refused.text
    assert "Dewiswch un o'r ieithoedd a restrir." in visible_text(refused.text)
    assert _stored_language(engine, "P-A1") == "cy"


def test_staff_choose_their_language_on_their_account_page(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")

    saved = submit(client, "/account", "/account/language", {"language": "cy"})

    assert saved.status_code == 303
    assert _stored_language(engine, "fa@one.example") == "cy"
    assert _lang(client.get("/account").text) == "cy"
    refused = submit(client, "/account", "/account/language", {"language": "klingon"})
    assert refused.status_code == 422 and 'id="language-error"' in refused.text
    assert _stored_language(engine, "fa@one.example") == "cy"


def test_form_errors_and_error_pages_are_in_the_patients_language(
    client: TestClient, world: World, engine: Engine
) -> None:
    _set(engine, patient="cy")
    login(client, "P-A1")

    refused = submit(client, "/today", "/today/practice", {"practice": "", "minutes": "0"})
    missing = client.get("/practice/999999")

    assert refused.status_code == 422
    text = visible_text(refused.text)
    assert "Rhowch sawl munud y buoch chi'n ymarfer, o 1 i 360." in text
    assert "Dewiswch beth wnaethoch chi ei ymarfer." in text
    assert missing.status_code == 404
    assert "Does dim ymarfer o'r fath yn eich rhaglen." in visible_text(missing.text)


def test_the_json_api_stays_english_whatever_the_language(
    client: TestClient, world: World, engine: Engine
) -> None:
    _set(engine, patient="cy")
    login(client, "P-A1")

    answer = client.post(
        "/api/v1/practice-logs",
        json={
            "id": "00000000-0000-4000-8000-000000000001",
            "exercise_id": 999999,
            "started_at": "2026-01-01T10:00:00+00:00",
            "timezone": "Europe/London",
            "local_date": "2026-01-01",
            "listened_seconds": 600,
            "completed": True,
        },
    )

    assert answer.status_code == 422
    assert "No such exercise in your programme." in answer.text


def test_a_clinic_made_welsh_speaks_welsh_to_its_people_until_they_choose(
    runner: CliRunner, engine: Engine
) -> None:
    made = runner.invoke(cli, ["clinic", "create", "--name", "Bangor", "--language", "cy"])
    refused = runner.invoke(cli, ["clinic", "create", "--name", "Paris", "--language", "fr"])

    assert made.exit_code == 0, made.output
    with open_session(engine) as session:
        clinic = session.exec(select(Clinic).where(Clinic.slug == made.output.strip())).one()
        assert clinic.default_language == "cy"
        assert session.exec(select(Clinic).where(Clinic.name == "Paris")).first() is None
    assert refused.exit_code != 0 and "'fr' is not a language Tend has" in refused.output
