"""Programme files: the shipped one loads; broken ones are refused with file, line and field."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from app.cli import cli
from app.config import PROJECT_ROOT
from app.datafiles import DataFileError
from app.db import open_session
from app.programme import service as programme_service
from app.programme.loader import read_programme
from app.programme.models import Exercise, Programme, WeekPractice
from tests.factories import FIXTURE_PROGRAMME, World

DEFAULT = PROJECT_ROOT / "audio" / "programmes" / "default" / "programme.yaml"


def test_the_shipped_programme_is_valid_and_complete() -> None:
    source = read_programme(DEFAULT)

    assert [week.number for week in source.definition.weeks] == list(range(1, 9))
    for week in source.definition.weeks:
        roles = {practice.role for practice in week.practices}
        assert {"core", "anytime", "flare"} <= roles, f"week {week.number}"
    for exercise in source.definition.exercises:
        script = source.scripts[exercise.key].lower()
        assert "stop" in script, f"{exercise.key} must give permission to stop"


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "programme"
    shutil.copytree(FIXTURE_PROGRAMME.parent, folder)
    path = folder / "programme.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("kind: breathing", "kind: jogging", ":11: exercises[0].kind: Input should be"),
        ("minutes: 8", "minutes: 0", ":12: exercises[0].minutes: Input should be greater"),
        ("  - number: 2", "  - number: 3", "weeks must be numbered 1, 2, 3"),
        (
            "      - exercise: body-scan",
            "      - exercise: body-scam",
            ":46: weeks[1].practices[0].exercise: no exercise with key 'body-scam'",
        ),
        (
            "script: scripts/body-scan.txt",
            "script: scripts/missing.txt",
            ":20: exercises[1].script: script file 'scripts/missing.txt' not found",
        ),
        (
            'title: "Body scan"',
            'title: "Body scan"\n    colour: blue',
            ":17: exercises[1].colour: Extra inputs are not permitted",
        ),
        ("key: body-scan\n", "key: breathing\n", "exercises[1].key: exercise key 'breathing'"),
    ],
)
def test_a_broken_programme_names_the_file_line_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = broken_copy(tmp_path, old, new)

    with pytest.raises(DataFileError) as error:
        read_programme(path)

    assert str(path) in str(error.value)
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("Hello.\n\n[paws 5s]\n", r"breathing.txt:3: unknown tag \[paws 5s\]"),
        # The audio build refuses these two; the check used to accept them.
        ("Hello.\n\n[pause 400s]\n", r"breathing.txt:3: .*1 to 300 seconds"),
        ("Hello.\n\nBreathe in [pause 5s] and out.\n", r"breathing.txt:3: a pause must be on"),
    ],
)
def test_pause_markup_the_build_refuses_is_refused_naming_the_script_line(
    tmp_path: Path, script: str, expected: str
) -> None:
    path = broken_copy(tmp_path, "minutes: 8", "minutes: 8")
    (path.parent / "scripts" / "breathing.txt").write_text(script)

    with pytest.raises(DataFileError, match=expected):
        read_programme(path)
    result = CliRunner().invoke(cli, ["programme", "check", str(path)])
    assert result.exit_code == 1 and "breathing.txt:3:" in result.output


def test_pauses_the_build_accepts_pass_the_check(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "minutes: 8", "minutes: 8")
    (path.parent / "scripts" / "breathing.txt").write_text("Hello.\n\n[pause 5 seconds]\n")
    read_programme(path)


def test_yaml_that_does_not_parse_names_the_line(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, 'summary: "Small enough for tests."', "summary: [unclosed")
    with pytest.raises(DataFileError, match=r"programme.yaml:\d+: not valid YAML"):
        read_programme(path)


def test_loading_is_idempotent_and_keeps_exercise_ids(engine: Engine, tmp_path: Path) -> None:
    with open_session(engine, write=True) as session:
        programme, changed = programme_service.load_programme_file(session, FIXTURE_PROGRAMME)
        again, changed_again = programme_service.load_programme_file(session, FIXTURE_PROGRAMME)
        session.commit()
        ids = {e.key: e.id for e in session.exec(select(Exercise)).all()}
    assert changed and not changed_again and programme.id == again.id

    edited = broken_copy(tmp_path, 'title: "Body scan"', 'title: "Body scan (gentle)"')
    with open_session(engine, write=True) as session:
        _, changed = programme_service.load_programme_file(session, edited)
        session.commit()
        after = {e.key: (e.id, e.title) for e in session.exec(select(Exercise)).all()}
        links = len(session.exec(select(WeekPractice)).all())
        programmes = len(session.exec(select(Programme)).all())
    assert changed
    assert {key: value[0] for key, value in after.items()} == ids
    assert after["body-scan"][1] == "Body scan (gentle)"
    assert links == 4 and programmes == 1


def _rule(engine: Engine, path: Path, clinic_id: int) -> tuple[int, int, int]:
    """Load ``path`` and read back the clinic's adherence rule for the programme."""
    with open_session(engine, write=True) as session:
        programme, _ = programme_service.load_programme_file(session, path)
        session.commit()
        rule = programme_service.adherence_rule(session, programme, clinic_id=clinic_id)
    return rule.minutes_per_day, rule.days_per_week, rule.completer_weeks


def test_the_files_adherence_rule_applies_until_an_admin_edits_it(
    engine: Engine, tmp_path: Path, world: World
) -> None:
    stricter = broken_copy(tmp_path, "minutes_per_day: 10", "minutes_per_day: 20")
    one, two = world.clinic.id or 0, world.other_clinic.id or 0
    assert _rule(engine, stricter, one) == (20, 5, 5)

    with open_session(engine, write=True) as session:
        programme = programme_service.get_programme(session, world.programme_id)
        programme_service.set_adherence_target(
            session,
            actor=world.users["admin"],
            programme=programme,
            minutes_per_day=15,
            days_per_week=3,
            completer_weeks=1,
        )
        session.commit()
    # Reloading the same file, or one whose rule changed, keeps what the admin chose; the
    # other clinic follows the programme's file.
    assert _rule(engine, stricter, one) == (15, 3, 1)
    assert _rule(engine, FIXTURE_PROGRAMME, one) == (15, 3, 1)
    assert _rule(engine, stricter, two) == (20, 5, 5)
