"""Every exercise has a transcript page: the words as spoken, without pause markup."""

from fastapi.testclient import TestClient

from tests.factories import World, login
from tests.pages import visible_text


def test_the_transcript_shows_the_words_without_markup(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    programme = client.get("/api/v1/programme").json()
    exercise = programme["weeks"][programme["current_week"] - 1]["exercises"][0]
    page = client.get(exercise["transcript_url"])

    assert page.status_code == 200
    text = visible_text(page.text)
    assert "comfortable position" in text
    assert "[pause" not in text
    # The player links to it.
    assert f'href="{exercise["transcript_url"]}"' in client.get("/today").text
