"""Loading programmes into the database and reading them back in order."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, col, delete, func, select

from app.audio import markup
from app.audit import service as audit
from app.clinics.models import User
from app.db import utcnow
from app.errors import InvalidInput, NotFound
from app.i18n import N_
from app.programme.adherence import AdherenceRule
from app.programme.loader import ProgrammeSource, read_programme
from app.programme.models import (
    ClinicAdherenceRule,
    Exercise,
    ExerciseTranslation,
    Programme,
    Week,
    WeekPractice,
    WeekTranslation,
)

DEFAULT_PROGRAMME = "default"
DEFAULT_PROGRAMME_KEY = "compassion-for-pain"
# Programme files are written in English: the original text, the scripts and so the audio.
ORIGINAL_LANGUAGE = "en"
TranslationT = TypeVar("TranslationT", WeekTranslation, ExerciseTranslation)


@dataclass(frozen=True)
class WeekOutline:
    week: Week
    practices: list[tuple[WeekPractice, Exercise]]


def default_programme_path(programmes_dir: Path) -> Path:
    """Where the programme that ships with Tend lives."""
    return programmes_dir / DEFAULT_PROGRAMME / "programme.yaml"


def load_programme_file(session: Session, path: Path) -> tuple[Programme, bool]:
    """Validate and load a programme file; returns it and whether anything changed."""
    return load_programme(session, read_programme(path))


def load_programme(session: Session, source: ProgrammeSource) -> tuple[Programme, bool]:
    """Create or update a programme from its source, keeping exercise ids stable by key."""
    definition = source.definition
    programme = session.exec(select(Programme).where(Programme.key == definition.key)).first()
    if programme is not None and programme.source_sha256 == source.sha256:
        return programme, False
    programme = programme or Programme(key=definition.key, title=definition.title)
    changes: dict[str, object] = {
        "version": definition.version,
        "title": definition.title,
        "summary": definition.summary,
        "source_sha256": source.sha256,
    }
    if programme.adherence_rule_edited_at is None:
        # The file's rule is the default only until an admin edits it in the app.
        target = definition.practice_target
        changes |= {
            "target_minutes_per_day": target.minutes_per_day,
            "target_days_per_week": target.days_per_week,
            "completer_weeks": target.completer_weeks,
        }
    programme.sqlmodel_update(changes)
    session.add(programme)
    session.flush()
    exercises = _upsert_exercises(session, programme, source)
    _replace_weeks(session, programme, source, exercises)
    return programme, True


def _upsert_exercises(
    session: Session, programme: Programme, source: ProgrammeSource
) -> dict[str, Exercise]:
    existing = {
        exercise.key: exercise
        for exercise in session.exec(
            select(Exercise).where(Exercise.programme_id == programme.id)
        ).all()
    }
    assert programme.id is not None
    for entry in source.definition.exercises:
        script = source.scripts[entry.key]
        exercise = existing.get(entry.key) or Exercise(
            programme_id=programme.id,
            key=entry.key,
            title=entry.title,
            kind=entry.kind,
            minutes=entry.minutes,
        )
        exercise.sqlmodel_update(
            {
                "title": entry.title,
                "kind": entry.kind,
                "minutes": entry.minutes,
                "summary": entry.summary,
                "script": script,
                "script_sha256": hashlib.sha256(script.encode()).hexdigest(),
            }
        )
        session.add(exercise)
        existing[entry.key] = exercise
    session.flush()
    for entry in source.definition.exercises:
        exercise_id = existing[entry.key].id
        assert exercise_id is not None
        session.exec(
            delete(ExerciseTranslation).where(col(ExerciseTranslation.exercise_id) == exercise_id)
        )
        for language, translation in entry.translations.items():
            session.add(
                ExerciseTranslation(
                    exercise_id=exercise_id,
                    language=language,
                    title=translation.title,
                    summary=translation.summary,
                    script=source.translated_scripts.get((entry.key, language), ""),
                )
            )
    return existing


def _replace_weeks(
    session: Session,
    programme: Programme,
    source: ProgrammeSource,
    exercises: dict[str, Exercise],
) -> None:
    weeks = {
        week.number: week
        for week in session.exec(select(Week).where(Week.programme_id == programme.id)).all()
    }
    assert programme.id is not None
    for entry in source.definition.weeks:
        week = weeks.get(entry.number) or Week(
            programme_id=programme.id, number=entry.number, title=entry.title
        )
        week.sqlmodel_update(entry.model_dump(exclude={"practices", "translations"}))
        session.add(week)
        session.flush()
        session.exec(delete(WeekPractice).where(col(WeekPractice.week_id) == week.id))
        session.exec(delete(WeekTranslation).where(col(WeekTranslation.week_id) == week.id))
        for language, translation in entry.translations.items():
            assert week.id is not None
            session.add(
                WeekTranslation(week_id=week.id, language=language, **translation.model_dump())
            )
        for position, practice in enumerate(entry.practices):
            exercise_id = exercises[practice.exercise].id
            assert week.id is not None and exercise_id is not None
            session.add(
                WeekPractice(
                    week_id=week.id, exercise_id=exercise_id, position=position, role=practice.role
                )
            )
    for number, week in weeks.items():
        if number > len(source.definition.weeks):
            session.delete(week)


def get_programme(session: Session, programme_id: int) -> Programme:
    """The programme with this id, or 404."""
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFound("No such programme.")
    return programme


def get_programme_by_key(session: Session, key: str) -> Programme:
    """The programme with this key, or 404."""
    programme = session.exec(select(Programme).where(Programme.key == key)).first()
    if programme is None:
        raise NotFound(f"No programme {key!r} is loaded. Run `tend programme load`.")
    return programme


def outline(session: Session, programme_id: int) -> list[WeekOutline]:
    """The programme's weeks in order, each with its practices in order."""
    weeks = session.exec(
        select(Week).where(Week.programme_id == programme_id).order_by(col(Week.number))
    ).all()
    rows = session.exec(
        select(WeekPractice, Exercise)
        .join(Exercise, col(Exercise.id) == WeekPractice.exercise_id)
        .join(Week, col(Week.id) == WeekPractice.week_id)
        .where(Week.programme_id == programme_id)
        .order_by(col(WeekPractice.position))
    ).all()
    by_week: dict[int, list[tuple[WeekPractice, Exercise]]] = {}
    for practice, exercise in rows:
        by_week.setdefault(practice.week_id, []).append((practice, exercise))
    return [WeekOutline(week=w, practices=by_week.get(w.id or 0, [])) for w in weeks]


def get_exercise(session: Session, exercise_id: int, *, programme_id: int) -> Exercise:
    """An exercise of this programme, or 404."""
    exercise = session.get(Exercise, exercise_id)
    if exercise is None or exercise.programme_id != programme_id:
        raise NotFound(N_("No such exercise in this programme."))
    return exercise


def exercise_titles(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Exercise titles keyed by id, for labelling logs."""
    if not ids:
        return {}
    found = session.exec(select(Exercise.id, Exercise.title).where(col(Exercise.id).in_(ids)))
    return {exercise_id: title for exercise_id, title in found if exercise_id is not None}


def exercises_by_id(session: Session, ids: Sequence[int]) -> dict[int, Exercise]:
    """Exercises keyed by id, for labelling logs and exports."""
    if not ids:
        return {}
    found = session.exec(select(Exercise).where(col(Exercise.id).in_(ids))).all()
    return {exercise.id: exercise for exercise in found if exercise.id is not None}


@dataclass(frozen=True)
class WeekText:
    """A week's words as one person reads them, and the language they are in."""

    number: int
    language: str
    title: str
    theme: str
    teaching: str
    reflection_prompt: str
    home_practice: str


@dataclass(frozen=True)
class ExerciseText:
    """An exercise's words as one person reads them. The title and summary, and the script,
    each say their language: a translation may give the title without the script."""

    language: str
    title: str
    summary: str
    script_language: str
    script: str


def _translations(
    session: Session,
    model: type[TranslationT],
    owner: Any,
    owner_ids: Sequence[int | None],
    language: str,
) -> Sequence[TranslationT]:
    """The rows of ``model`` in ``language`` for these weeks or exercises. The original needs
    no look-up: most people read it, on every page of the patient app."""
    if language == ORIGINAL_LANGUAGE or not owner_ids:
        return []
    return session.exec(
        select(model).where(col(owner).in_(owner_ids), col(model.language) == language)
    ).all()


def week_texts(session: Session, weeks: Sequence[Week], language: str) -> dict[int, WeekText]:
    """Each week's words (by week id) in ``language`` where the programme translates the week,
    else in the original."""
    translated = {
        t.week_id: t
        for t in _translations(
            session, WeekTranslation, WeekTranslation.week_id, [w.id for w in weeks], language
        )
    }
    texts = {}
    for week in weeks:
        shown: Week | WeekTranslation = translated.get(week.id or 0, week)
        texts[week.id or 0] = WeekText(
            number=week.number,
            language=language if shown is not week else ORIGINAL_LANGUAGE,
            title=shown.title,
            theme=shown.theme,
            teaching=shown.teaching,
            reflection_prompt=shown.reflection_prompt,
            home_practice=shown.home_practice,
        )
    return texts


def exercise_texts(
    session: Session, exercises: Sequence[Exercise], language: str
) -> dict[int, ExerciseText]:
    """Each exercise's words (by exercise id) in ``language`` where the programme translates
    them, else in the original."""
    translated = {
        t.exercise_id: t
        for t in _translations(
            session,
            ExerciseTranslation,
            ExerciseTranslation.exercise_id,
            [e.id for e in exercises],
            language,
        )
    }
    texts = {}
    for exercise in exercises:
        found = translated.get(exercise.id or 0)
        texts[exercise.id or 0] = ExerciseText(
            language=language if found else ORIGINAL_LANGUAGE,
            title=found.title if found else exercise.title,
            summary=found.summary if found else exercise.summary,
            script_language=language if found and found.script else ORIGINAL_LANGUAGE,
            script=found.script if found and found.script else exercise.script,
        )
    return texts


def exercise_text(session: Session, exercise_id: int, language: str) -> ExerciseText:
    """One exercise's words in ``language`` where translated, else in the original."""
    exercise = session.get(Exercise, exercise_id)
    if exercise is None:
        raise NotFound("No such exercise.")
    return exercise_texts(session, [exercise], language)[exercise_id]


def transcript(script: str) -> list[str]:
    """A script as a listener hears it: paragraphs, without pause markup."""
    # The same parser the audio is rendered from, so the words match what is spoken.
    return markup.transcript_text(script).split("\n\n")


def adherence_rule(session: Session, programme: Programme, *, clinic_id: int) -> AdherenceRule:
    """The clinic's adherence rule for the programme: its own if its admin set one, else the
    programme's."""
    weeks = session.exec(
        select(func.count()).select_from(Week).where(Week.programme_id == programme.id)
    ).one()
    own = _clinic_rule(session, programme, clinic_id=clinic_id)
    if own is not None:
        return AdherenceRule(
            minutes_per_day=own.minutes_per_day,
            days_per_week=own.days_per_week,
            completer_weeks=own.completer_weeks,
            total_weeks=weeks,
            bad_day_counts=own.bad_day_counts,
        )
    return AdherenceRule(
        minutes_per_day=programme.target_minutes_per_day,
        days_per_week=programme.target_days_per_week,
        completer_weeks=programme.completer_weeks,
        total_weeks=weeks,
    )


def _clinic_rule(
    session: Session, programme: Programme, *, clinic_id: int
) -> ClinicAdherenceRule | None:
    return session.exec(
        select(ClinicAdherenceRule).where(
            ClinicAdherenceRule.clinic_id == clinic_id,
            ClinicAdherenceRule.programme_id == programme.id,
        )
    ).first()


def list_programmes(session: Session) -> Sequence[Programme]:
    """Every loaded programme, by title."""
    return session.exec(select(Programme).order_by(col(Programme.title))).all()


def set_adherence_target(
    session: Session,
    *,
    actor: User,
    programme: Programme,
    minutes_per_day: int,
    days_per_week: int,
    completer_weeks: int,
    bad_day_counts: bool = True,
) -> AdherenceRule:
    """Change the admin's own clinic's adherence rule for the programme (other clinics keep
    theirs); returns the new rule."""
    total_weeks = len(session.exec(select(Week).where(Week.programme_id == programme.id)).all())
    if not 1 <= minutes_per_day <= 180:
        raise InvalidInput("Choose 1 to 180 minutes.", field="minutes_per_day")
    if not 1 <= days_per_week <= 7:
        raise InvalidInput("Choose 1 to 7 days.", field="days_per_week")
    if not 1 <= completer_weeks <= max(total_weeks, 1):
        raise InvalidInput(f"Choose 1 to {total_weeks} weeks.", field="completer_weeks")
    clinic_id = actor.clinic_id
    before = adherence_rule(session, programme, clinic_id=clinic_id)
    own = _clinic_rule(session, programme, clinic_id=clinic_id) or ClinicAdherenceRule(
        clinic_id=clinic_id,
        programme_id=programme.id or 0,
        minutes_per_day=minutes_per_day,
        days_per_week=days_per_week,
        completer_weeks=completer_weeks,
    )
    own.sqlmodel_update(
        {
            "minutes_per_day": minutes_per_day,
            "days_per_week": days_per_week,
            "completer_weeks": completer_weeks,
            "bad_day_counts": bad_day_counts,
            "edited_at": utcnow(),
        }
    )
    session.add(own)
    session.flush()
    after = adherence_rule(session, programme, clinic_id=clinic_id)
    audit.record(
        session,
        action="adherence_rule_changed",
        actor=actor,
        clinic_id=clinic_id,
        object_type="programme",
        object_id=programme.key,
        before=before.describe(),
        after=after.describe(),
    )
    return after


def exercises_in_week_order(session: Session) -> list[tuple[Exercise, list[int]]]:
    """Every loaded exercise with the weeks it is offered in, earliest first week first."""
    rows = session.exec(
        select(Exercise, Week.number, WeekPractice.position)
        .join(WeekPractice, col(WeekPractice.exercise_id) == Exercise.id, isouter=True)
        .join(Week, col(Week.id) == WeekPractice.week_id, isouter=True)
    ).all()
    # An exercise in no week sorts last: week 0 would wrongly put it first.
    unused = (10_000, 0)
    found: dict[int, tuple[Exercise, set[int], tuple[int, int]]] = {}
    for exercise, number, position in rows:
        _, weeks, first = found.setdefault(exercise.id or 0, (exercise, set(), unused))
        if number is not None:
            weeks.add(number)
            first = min(first, (number, position or 0))
        found[exercise.id or 0] = (exercise, weeks, first)
    ordered = sorted(found.values(), key=lambda row: (row[2], row[0].id or 0))
    return [(exercise, sorted(weeks)) for exercise, weeks, _ in ordered]
