"""A Welsh patient's pages: the programme's Welsh where it has some, the original (marked as
English for screen readers) where it has none, and the English audio said to be English."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from tests.browser.patient_audio import install_test_audio
from tests.factories import World, login
from tests.pages import choose_language, visible_text

# The sentence in either language: its English source, or as the Welsh catalogue words it.
NO_RECORDING = (
    "There is no recording in your language yet, so this one is in English.",
    "Does dim recordiad yn Gymraeg eto, felly mae hwn yn Saesneg.",
)


def says_no_recording(text: str) -> bool:
    return any(sentence in text for sentence in NO_RECORDING)


@pytest.fixture
def translated(welsh_programme: World, engine: Engine, settings: Settings) -> World:
    """The one cast (its group in week 2), with the programme's Welsh and test recordings."""
    install_test_audio(engine, settings.media_dir)
    return welsh_programme


@pytest.fixture
def patient(client: TestClient, translated: World) -> TestClient:
    """P-A1, who has chosen Welsh."""
    return choose_language(login(client, "P-A1"), "cy")


def _exercise_ids(client: TestClient) -> dict[str, int]:
    weeks = client.get("/api/v1/programme").json()["weeks"]
    return {e["key"]: e["id"] for week in weeks for e in week["exercises"]}


def test_a_translated_week_shows_its_welsh_title_teaching_and_practices(
    patient: TestClient,
) -> None:
    html = patient.get("/today?week=1").text
    text = visible_text(html)

    assert "Croeso" in text and "Dechrau arni." in text
    assert "Ychydig o addysgu." in text and "Deg munud y dydd." in text
    assert "Anadlu lleddfol" in text and "Anadlu araf, caredig." in text
    assert "Welcome" not in text and "Some teaching." not in text
    # The one untranslated practice of the week is the original, marked as English.
    assert '<h3 lang="en"><a href="/practice/' in html and "Short breath" in text


def test_a_week_without_a_translation_falls_back_to_the_original_marked_english(
    patient: TestClient,
) -> None:
    html = patient.get("/today").text  # week 2 has no Welsh
    text = visible_text(html)

    assert '<h2 id="week-title" lang="en">The body</h2>' in html
    assert "More teaching." in text and '<div lang="en"><p>More teaching.</p></div>' in html
    # Its practice has a Welsh title, so that is shown, not marked English.
    assert "Sgan o&#39;r corff</a></h3>" in html
    # In the list of weeks, the English title is marked inside the Welsh sentence.
    assert ': <span lang="en">The body</span></span></a>' in html and ": Croeso</span></a>" in html


def test_the_player_says_there_is_no_welsh_recording_and_gives_the_welsh_words(
    patient: TestClient,
) -> None:
    breathing = _exercise_ids(patient)["breathing"]
    html = patient.get(f"/practice/{breathing}").text
    text = visible_text(html)

    assert '<h1 id="player-title">Anadlu lleddfol</h1>' in html
    assert says_no_recording(text)
    assert '<audio data-audio controls preload="none" lang="en">' in html
    assert 'type="audio/webm"' in html  # the English recording, playable
    assert "Anadlwch i mewn yn araf, ac allan yn araf." in text
    assert "[pause" not in html


def test_an_untranslated_script_is_offered_in_english_beside_the_english_audio(
    patient: TestClient,
) -> None:
    short_breath = _exercise_ids(patient)["short-breath"]
    html = patient.get(f"/practice/{short_breath}").text

    assert says_no_recording(visible_text(html))
    assert '<h1 id="player-title" lang="en">Short breath</h1>' in html
    assert '<div lang="en"><p>Find a comfortable position' in html


def test_an_english_patient_sees_no_language_notes(client: TestClient, translated: World) -> None:
    english = login(client, "P-A2")
    breathing = _exercise_ids(english)["breathing"]
    html = english.get(f"/practice/{breathing}").text

    assert not says_no_recording(visible_text(html))
    player = html.split("data-player", 1)[1].split("</article>", 1)[0]
    assert "Soothing breathing" in player and ' lang="' not in player


@pytest.mark.world(started_days_ago=3)  # week 1, which has Welsh
def test_the_weekly_reflection_prompt_is_in_welsh_where_the_week_is(
    client: TestClient, translated: World
) -> None:
    choose_language(login(client, "P-A1"), "cy")
    text = visible_text(client.get("/reflections").text)
    assert ": Croeso" in text and "Beth wnaethoch chi sylwi arno?" in text
