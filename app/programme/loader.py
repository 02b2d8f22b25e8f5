"""The programme file format: validated strictly, with errors that name the file, line and field.

The format is documented in docs/programme-format.md.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# The build's script parser (a pure module): what the check accepts, the build renders.
from app.audio.markup import ScriptError, parse_script
from app.datafiles import DataFileError, Location, located, validate
from app.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from app.programme.models import ExerciseKind, PracticeRole

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PracticeTarget(_Strict):
    minutes_per_day: int = Field(ge=1, le=120)
    days_per_week: int = Field(ge=1, le=7)
    # Weeks meeting the target that make a patient a "completer" (for adherence figures).
    completer_weeks: int = Field(default=5, ge=1, le=52)


class ExerciseTranslationEntry(_Strict):
    """An exercise in another language. Without a translated script the transcript stays in
    the original language; the audio always does (translations are never rendered)."""

    title: Text
    summary: Text
    script: Text | None = None


class ExerciseEntry(_Strict):
    key: Slug
    title: Text
    kind: ExerciseKind
    minutes: int = Field(ge=1, le=60)
    summary: Text
    script: Text
    translations: dict[str, ExerciseTranslationEntry] = {}


class PracticeEntry(_Strict):
    exercise: Slug
    role: PracticeRole


class WeekTranslationEntry(_Strict):
    """A week's words in another language: all of them, so a week reads in one language."""

    title: Text
    theme: Text
    teaching: Text
    reflection_prompt: Text
    home_practice: Text


class WeekEntry(_Strict):
    number: int = Field(ge=1, le=52)
    title: Text
    theme: Text
    teaching: Text
    reflection_prompt: Text
    home_practice: Text
    practices: list[PracticeEntry] = Field(min_length=1)
    translations: dict[str, WeekTranslationEntry] = {}


class ProgrammeFile(_Strict):
    key: Slug
    version: int = Field(ge=1)
    title: Text
    summary: Text
    practice_target: PracticeTarget
    exercises: list[ExerciseEntry] = Field(min_length=1)
    weeks: list[WeekEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _weeks_in_order(self) -> "ProgrammeFile":
        numbers = [week.number for week in self.weeks]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"weeks must be numbered 1, 2, 3 ... in order; found {numbers}")
        return self


@dataclass(frozen=True)
class ProgrammeSource:
    """A validated programme file with its scripts read, ready to load into the database."""

    definition: ProgrammeFile
    scripts: dict[str, str]  # exercise key -> script text
    # (exercise key, language) -> translated script text, shown as a transcript, never rendered
    translated_scripts: dict[tuple[str, str], str]
    sha256: str


def check_script(path: Path, text: str) -> None:
    """Refuse a script the audio build would refuse, naming the line: the build's own
    parser, so a file that passes here renders."""
    try:
        parse_script(text)
    except ScriptError as error:
        raise DataFileError(f"{path}:{error.line}: {error.message}") from error


def _script_text(path: Path, lines: dict[Location, int], loc: Location, name: str) -> str:
    """The checked text of the script ``name`` (relative to the programme file) at ``loc``."""
    script_path = (path.parent / name).resolve()
    if not script_path.is_relative_to(path.parent.resolve()) or not script_path.is_file():
        raise located(path, lines, loc, f"script file {name!r} not found beside the programme")
    text = script_path.read_text(encoding="utf-8")
    check_script(script_path, text)
    return text


def _check_languages(
    path: Path, lines: dict[Location, int], loc: Location, languages: Iterable[str]
) -> None:
    """Refuse a translation into a language Tend has no interface for (a typo such as "cym")."""
    offered = sorted(set(SUPPORTED_LANGUAGES) - {DEFAULT_LANGUAGE})
    for language in languages:
        if language not in offered:
            raise located(
                path,
                lines,
                (*loc, "translations", language),
                f"no interface language {language!r}; translations may be in {', '.join(offered)}",
            )


def read_programme(path: Path) -> ProgrammeSource:
    """Validate the programme file at ``path`` and read the scripts it names."""
    definition, lines = validate(ProgrammeFile, path)
    digest = hashlib.sha256(path.read_bytes())
    keys: set[str] = set()
    scripts: dict[str, str] = {}
    translated_scripts: dict[tuple[str, str], str] = {}
    for index, exercise in enumerate(definition.exercises):
        if exercise.key in keys:
            raise located(
                path,
                lines,
                ("exercises", index, "key"),
                f"exercise key {exercise.key!r} is used twice",
            )
        keys.add(exercise.key)
        loc: Location = ("exercises", index)
        scripts[exercise.key] = _script_text(path, lines, (*loc, "script"), exercise.script)
        digest.update(scripts[exercise.key].encode())
        _check_languages(path, lines, loc, exercise.translations)
        for language, translation in exercise.translations.items():
            if translation.script is not None:
                script_loc = (*loc, "translations", language, "script")
                text = _script_text(path, lines, script_loc, translation.script)
                translated_scripts[exercise.key, language] = text
                digest.update(text.encode())
    for w, week in enumerate(definition.weeks):
        _check_languages(path, lines, ("weeks", w), week.translations)
        for p, practice in enumerate(week.practices):
            if practice.exercise not in keys:
                raise located(
                    path,
                    lines,
                    ("weeks", w, "practices", p, "exercise"),
                    f"no exercise with key {practice.exercise!r} in exercises",
                )
    return ProgrammeSource(
        definition=definition,
        scripts=scripts,
        translated_scripts=translated_scripts,
        sha256=digest.hexdigest(),
    )
