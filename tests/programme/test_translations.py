"""Programme content in another language: the file's translations are checked on load, stored,
and shown to a Welsh patient where they exist, the original where they do not."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import PROJECT_ROOT
from app.datafiles import DataFileError
from app.db import open_session
from app.programme import service as programme_service
from app.programme.loader import read_programme
from tests.factories import FIXTURE_PROGRAMME, World, login, translated_programme
from tests.pages import choose_language, visible_text

DEFAULT = PROJECT_ROOT / "audio" / "programmes" / "default" / "programme.yaml"
PAUSE = re.compile(r"\[pause [^]]*\]")


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    path = translated_programme(tmp_path / "programme")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      cy:\n",
            "      cym:\n",
            "exercises[0].translations.cym: no interface language 'cym'",
        ),
        (
            '        teaching: "Ychydig o addysgu."\n',
            "",
            "weeks[0].translations.cy.teaching: Field required",
        ),
        (
            '        title: "Anadlu lleddfol"\n',
            '        title: ""\n',
            "exercises[0].translations.cy.title: String should have at least 1 character",
        ),
        (
            "script: scripts/cy/breathing.txt",
            "script: scripts/cy/anadlu.txt",
            "exercises[0].translations.cy.script: script file 'scripts/cy/anadlu.txt' not found",
        ),
        (
            '        summary: "Sylwi ar y corff."\n',
            '        summary: "Sylwi ar y corff."\n        teaching: "Nid yma."\n',
            "exercises[1].translations.cy.teaching: Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_translation_is_refused_naming_the_week_or_exercise_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _broken(tmp_path, old, new)

    with pytest.raises(DataFileError) as error:
        read_programme(path)

    assert str(path) in str(error.value) and expected in str(error.value)


def test_a_translated_script_is_checked_like_the_original(tmp_path: Path) -> None:
    path = translated_programme(tmp_path / "programme")
    (path.parent / "scripts" / "cy" / "breathing.txt").write_text("Helo.\n\n[saib 5s]\n")

    with pytest.raises(DataFileError, match=r"cy/breathing.txt:3: unknown tag \[saib 5s\]"):
        read_programme(path)


def test_a_bad_translation_changes_nothing_already_loaded(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    good = translated_programme(tmp_path / "good")
    bad = _broken(
        tmp_path, '        title: "Croeso"\n', '        title: "Croeso"\n        tema: x\n'
    )
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(session, good)
        session.commit()
        with pytest.raises(DataFileError, match="weeks\\[0\\].translations.cy.tema"):
            programme_service.load_programme_file(session, bad)
        session.rollback()
        weeks = [o.week for o in programme_service.outline(session, world.programme_id)]
        texts = programme_service.week_texts(session, weeks, "cy")
    assert [t.title for t in texts.values()] == ["Croeso", "The body"]


def test_reloading_a_file_without_the_translation_removes_it(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    with open_session(engine, write=True) as session:
        programme_service.load_programme_file(session, translated_programme(tmp_path / "cy"))
        programme_service.load_programme_file(session, FIXTURE_PROGRAMME)
        session.commit()
        outlines = programme_service.outline(session, world.programme_id)
        weeks = programme_service.week_texts(session, [o.week for o in outlines], "cy")
        exercises = programme_service.exercise_texts(
            session, [e for o in outlines for _, e in o.practices], "cy"
        )
    assert {t.language for t in [*weeks.values(), *exercises.values()]} == {"en"}


def test_the_json_api_shows_the_patients_language_where_translated(
    client: TestClient, welsh_programme: World
) -> None:
    choose_language(login(client, "P-A1"), "cy")
    weeks = client.get("/api/v1/programme").json()["weeks"]
    client.cookies.clear()
    english = login(client, "P-A2").get("/api/v1/programme").json()["weeks"]

    assert (weeks[0]["title"], weeks[0]["language"]) == ("Croeso", "cy")
    # Week 2 has no Welsh: the original, saying it is English.
    assert (weeks[1]["title"], weeks[1]["language"]) == ("The body", "en")
    breathing, short = weeks[0]["exercises"]
    assert (breathing["title"], breathing["language"]) == ("Anadlu lleddfol", "cy")
    assert breathing["summary"] == "Anadlu araf, caredig."
    assert breathing["transcript_language"] == "cy" and breathing["audio_language"] == "en"
    assert (short["title"], short["language"], short["transcript_language"]) == (
        "Short breath",
        "en",
        "en",
    )
    body_scan = weeks[1]["exercises"][0]
    assert (body_scan["title"], body_scan["transcript_language"]) == ("Sgan o'r corff", "en")
    # An English patient sees exactly what they saw before.
    assert english[0]["title"] == "Welcome" and english[0]["exercises"][0]["title"] == (
        "Soothing breathing"
    )


def test_the_transcript_page_is_in_the_patients_language_where_translated(
    client: TestClient, welsh_programme: World
) -> None:
    choose_language(login(client, "P-A1"), "cy")
    exercises = {
        e["key"]: e["transcript_url"]
        for week in client.get("/api/v1/programme").json()["weeks"]
        for e in week["exercises"]
    }

    welsh = client.get(exercises["breathing"]).text
    untranslated_script = client.get(exercises["body-scan"]).text

    assert "Anadlwch i mewn yn araf, ac allan yn araf." in visible_text(welsh)
    assert "[pause" not in welsh and 'lang="en"' not in welsh.split("<main", 1)[-1]
    # A Welsh title over the English words, and the English marked as English.
    assert "<h1>Sgan o&#39;r corff</h1>" in untranslated_script
    assert '<div lang="en"><p>' in untranslated_script


def test_the_shipped_programme_has_welsh_for_every_week_and_exercise() -> None:
    source = read_programme(DEFAULT)
    for week in source.definition.weeks:
        assert "cy" in week.translations, f"week {week.number}"
    for exercise in source.definition.exercises:
        assert "cy" in exercise.translations, exercise.key
        welsh = source.translated_scripts.get((exercise.key, "cy"))
        if welsh is not None:
            # The permission to stop survives translation, and the pauses match the audio's.
            assert "stop" in welsh.lower(), exercise.key
            english = source.scripts[exercise.key]
            assert PAUSE.findall(welsh) == PAUSE.findall(english), exercise.key
    # Machine-drafted Welsh is marked as such in the file, for a fluent speaker to review.
    text = DEFAULT.read_text()
    assert text.count("machine-drafted, needs review by a fluent Welsh speaker") == len(
        source.definition.weeks
    ) + len(source.definition.exercises)
