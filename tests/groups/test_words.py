"""Patients' words: the codebook (seeded, editable) and coding comments with several themes."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.practice.models import ReflectionKind
from tests.factories import World, login
from tests.groups.conftest import write_reflection
from tests.pages import hidden_fields, submit, visible_text


def _theme_ids(html: str) -> dict[str, int]:
    """Theme label -> id, from the codebook page's rename fields."""
    return {
        label: int(theme_id)
        for theme_id, label in re.findall(
            r'id="label-(\d+)" name="label" type="text" value="([^"]+)"', html
        )
    }


def _code(client: TestClient, reflection_id: str, theme_ids: list[int]) -> int:
    page = client.get("/groups/GRP-A/words")
    return client.post(
        f"/groups/GRP-A/words/{reflection_id}",
        data={
            "csrf_token": hidden_fields(page.text)["csrf_token"],
            "themes": [str(t) for t in theme_ids],
        },
        follow_redirects=False,
    ).status_code


def test_comments_are_coded_with_several_themes_and_counted_with_quotes(
    client: TestClient, engine: Engine, world: World
) -> None:
    with open_session(engine, write=True) as session:
        end = write_reflection(
            session,
            world.enrolments["A1"],
            "I feel calmer and I pace my days now.",
            kind=ReflectionKind.end_of_programme,
            week=None,
        )
        shared = write_reflection(
            session, world.enrolments["A2"], "Pain is not my enemy any more.", share=True
        )
        write_reflection(session, world.enrolments["A2"], "Kept to myself.")
        other_group = write_reflection(
            session,
            world.enrolments["B1"],
            "Group B words.",
            kind=ReflectionKind.end_of_programme,
            week=None,
        )
        session.commit()
    login(client, "fa@one.example")
    themes = _theme_ids(client.get("/codebook").text)
    assert list(themes) == ["Feeling different", "Doing things differently", "Changed attitude"]

    page = visible_text(client.get("/groups/GRP-A/words").text)
    assert "I feel calmer" in page and "Pain is not my enemy" in page
    assert "Kept to myself." not in page and "Group B words." not in page
    assert "2 not coded yet" in page

    assert (
        _code(client, end.id, [themes["Feeling different"], themes["Doing things differently"]])
        == 303
    )
    assert _code(client, shared.id, [themes["Changed attitude"]]) == 303
    # Re-coding replaces the themes rather than adding to them.
    assert (
        _code(client, shared.id, [themes["Changed attitude"], themes["Feeling different"]]) == 303
    )

    text = visible_text(client.get("/groups/GRP-A/words").text)
    assert (
        "Feeling different 2 I feel calmer and I pace my days now. Pain is not my enemy any more."
        in text
    )
    assert "Doing things differently 1 I feel calmer" in text
    assert "Changed attitude 1 Pain is not my enemy" in text
    assert "not coded yet" not in text

    # A comment from another group cannot be coded through this one; nor with a foreign theme.
    assert _code(client, other_group.id, [themes["Changed attitude"]]) == 404
    assert _code(client, shared.id, [99999]) == 422
    with open_session(engine) as session:
        coded = session.exec(select(AuditEvent).where(AuditEvent.action == "comment_coded")).all()
    assert len(coded) == 3


def test_codebook_add_rename_and_retire(client: TestClient, engine: Engine, world: World) -> None:
    with open_session(engine, write=True) as session:
        comment = write_reflection(
            session,
            world.enrolments["A1"],
            "Words.",
            kind=ReflectionKind.end_of_programme,
            week=None,
        )
        session.commit()
    login(client, "fa@one.example")
    assert (
        submit(
            client, "/codebook", "/codebook", {"label": "Connection", "description": "With others"}
        ).status_code
        == 303
    )
    response = submit(client, "/codebook", "/codebook", {"label": "connection"})
    assert response.status_code == 422 and "already a theme" in response.text
    themes = _theme_ids(client.get("/codebook").text)
    assert "Connection" in themes
    url = f"/codebook/{themes['Connection']}"
    assert (
        submit(
            client, "/codebook", url, {"label": "Feeling connected", "description": ""}
        ).status_code
        == 303
    )
    assert _code(client, comment.id, [themes["Connection"]]) == 303
    assert (
        submit(
            client, "/codebook", url, {"label": "Feeling connected", "retired": "true"}
        ).status_code
        == 303
    )
    words = client.get("/groups/GRP-A/words").text
    # Retired: still counted where used, still ticked on that comment, not offered elsewhere.
    assert "Feeling connected (retired) 1" in visible_text(words)
    # Another clinic has its own codebook.
    login(client, "clinician@two.example")
    assert "Feeling connected" not in client.get("/codebook").text
    assert client.post(url, data={"label": "x"}).status_code in (403, 404)
