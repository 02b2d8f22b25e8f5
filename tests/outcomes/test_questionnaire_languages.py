"""Questionnaires and language: a translation only when the clinic supplies a validated one,
else the original marked as English with a note; scores and safety flags the same either way."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings, get_settings
from app.db import open_session
from app.outcomes import instruments as instrument_registry
from app.outcomes.definitions import InstrumentFileError
from app.outcomes.models import Administration, SafetyFlag
from app.outcomes.translations import load_translation
from tests.factories import World, login
from tests.pages import choose_language, submit, visible_text

# The groups start in three days: the baseline questionnaires are open (one test moves it).
pytestmark = pytest.mark.world(started_days_ago=-3)

PHQ9_PAGE = "/questionnaires/phq9/baseline"
# A stand-in for a clinic's validated translation: placeholder text, marked as a test fixture.
FIXTURE = Path(__file__).parent.parent / "fixtures" / "instruments" / "phq9.cy.yaml"
# The note in either language: its English source, or as the Welsh catalogue words it.
NOTE = (
    "A validated translation of this questionnaire is not available, so it is shown in English.",
    "Nid oes cyfieithiad dilys o'r holiadur hwn ar gael, felly fe'i dangosir yn Saesneg.",
)


def has_note(text: str) -> bool:
    return any(note in text for note in NOTE)


def _answers(**changes: str) -> dict[str, str]:
    return {f"q_q{n}": "1" for n in range(1, 10)} | changes | {"action": "submit"}


@pytest.fixture
def clinic_instruments(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The clinic's own instruments folder ($TEND_DATA_DIR/instruments), read afresh."""
    folder = settings.data_dir / "instruments"
    folder.mkdir(parents=True)
    monkeypatch.setenv("TEND_DATA_DIR", str(settings.data_dir))
    caches = (get_settings, instrument_registry.instruments, instrument_registry.translations)
    for cache in caches:
        cache.cache_clear()
    yield folder
    for cache in caches:
        cache.cache_clear()


def test_without_a_validated_translation_a_welsh_patient_sees_the_english_and_a_note(
    world: World, client: TestClient, clinic_instruments: Path
) -> None:
    choose_language(login(client, "P-A1"), "cy")
    html = client.get(PHQ9_PAGE).text
    due = client.get("/api/v1/questionnaires/due").json()
    text = visible_text(html)

    assert has_note(text)
    assert '<h1 lang="en">Patient Health Questionnaire-9 (depression)</h1>' in html
    assert '<span lang="en">Little interest or pleasure in doing things</span>' in html
    assert '<span lang="en">Not at all</span>' in html
    phq9 = next(d for d in due if d["instrument"] == "phq9")
    assert phq9["language"] == "en" and phq9["items"][0]["text"].startswith("Little interest")


@pytest.mark.world(started_days_ago=10)  # week 2: the weekly pain ratings are due
def test_the_weekly_ratings_scale_ends_are_the_instruments_words_marked_english(
    world: World, client: TestClient, clinic_instruments: Path
) -> None:
    choose_language(login(client, "P-A1"), "cy")
    html = client.get("/questionnaires/weekly/week_2").text
    assert '<p class="scale-ends" aria-hidden="true" lang="en">' in html
    assert '<span class="visually-hidden" lang="en"> No pain</span>' in html


def test_an_english_patient_sees_no_note(
    world: World, client: TestClient, clinic_instruments: Path
) -> None:
    login(client, "P-A1")
    html = client.get(PHQ9_PAGE).text
    assert not has_note(visible_text(html)) and "<h1>Patient Health Questionnaire-9" in html


def test_a_clinics_validated_translation_is_shown_in_its_language(
    world: World, client: TestClient, clinic_instruments: Path
) -> None:
    shutil.copy(FIXTURE, clinic_instruments / "phq9.cy.yaml")
    english = login(client, "P-A2").get(PHQ9_PAGE).text
    client.cookies.clear()
    choose_language(login(client, "P-A1"), "cy")
    html = client.get(PHQ9_PAGE).text
    due = client.get("/api/v1/questionnaires/due").json()
    text = visible_text(html)

    assert not has_note(text)
    assert "<h1>PRAWF: PHQ-9" in html and "PRAWF cwestiwn 9" in text and "PRAWF ateb 3" in text
    assert "Little interest" not in text
    phq9 = next(d for d in due if d["instrument"] == "phq9")
    assert phq9["language"] == "cy" and phq9["items"][8]["text"] == "PRAWF cwestiwn 9"
    # Only Welsh readers get it; and GAD-7, with no translation, stays English with the note.
    assert "PRAWF" not in english
    assert has_note(visible_text(client.get("/questionnaires/gad7/baseline").text))


@pytest.mark.parametrize("translated", [False, True], ids=["original", "validated-translation"])
def test_scores_and_the_item_9_flag_are_the_same_in_either_language(
    engine: Engine, world: World, client: TestClient, clinic_instruments: Path, translated: bool
) -> None:
    if translated:
        shutil.copy(FIXTURE, clinic_instruments / "phq9.cy.yaml")
    choose_language(login(client, "P-A1"), "cy")
    welsh = submit(client, PHQ9_PAGE, PHQ9_PAGE, _answers(q_q9="2"))
    assert world.clinic.crisis_text in visible_text(client.get(welsh.headers["location"]).text)
    client.cookies.clear()
    login(client, "P-A2")
    submit(client, PHQ9_PAGE, PHQ9_PAGE, _answers(q_q9="2"))

    with open_session(engine) as session:
        done = session.exec(select(Administration).order_by(Administration.id)).all()  # type: ignore[arg-type]
        flags = session.exec(select(SafetyFlag)).all()
    assert [(a.score_total, a.score_band, a.is_case) for a in done] == [
        (10.0, "Moderate", True)
    ] * 2
    assert sorted((f.item_id, f.answer) for f in flags) == [("q9", 2), ("q9", 2)]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('  - {id: q9, text: "PRAWF cwestiwn 9"}\n', "", "items: give every item in order"),
        ('  - {value: 3, label: "PRAWF ateb 3"}\n', "", "options: the values must be"),
        ("language: cy", "language: fr", "language: must be one of cy"),
        ('version: "1"', 'version: "2"', "version: translates version '1'"),
        ("validation: ", "validated: ", "validation: Field required"),
    ],
)
def test_a_translation_that_does_not_match_its_original_is_refused_naming_the_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = tmp_path / ("phq9.fr.yaml" if "fr" in new else "phq9.cy.yaml")
    text = FIXTURE.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))

    with pytest.raises(InstrumentFileError) as error:
        load_translation(path, instrument_registry.instruments())

    assert expected in str(error.value) and f"{path.name}:" in str(error.value)
    result = CliRunner().invoke(cli, ["instruments", "check", str(path)])
    assert result.exit_code == 1 and expected in result.output


def test_the_check_command_accepts_a_matching_translation() -> None:
    result = CliRunner().invoke(cli, ["instruments", "check", str(FIXTURE)])
    assert result.exit_code == 0 and "OK: phq9 v1 in cy, 9 items." in result.output


def test_tend_ships_no_questionnaire_translation() -> None:
    shipped = instrument_registry.INSTRUMENTS_DIR
    assert [p.name for p in shipped.glob("*.*.yaml")] == []
