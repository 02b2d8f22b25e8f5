"""Questionnaires in other languages: only the validated translations a clinic supplies.

A questionnaire's wording is part of what was validated, so Tend never translates one itself:
a clinic that holds a validated translation writes it as ``<id>.<language>.yaml`` beside the
instrument files (docs/instruments.md, "Translations"). A translation gives the words only;
items, answer values, scoring and safety rules stay the original's, so a score and a safety
flag are the same whatever language the questions were read in.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from app.outcomes.definitions import (
    Instrument,
    InstrumentFileError,
    Item,
    Location,
    NumericRange,
    ResponseOption,
    describe,
    is_translation_file,
    read_instrument_file,
    validation_problems,
    where,
)

# The shipped instruments are in English.
ORIGINAL_LANGUAGE = "en"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleLabels(_Strict):
    """The words at the ends of a numeric scale."""

    min_label: str = Field(min_length=1)
    max_label: str = Field(min_length=1)


class ItemTranslation(_Strict):
    id: str
    text: str = Field(min_length=1)
    options: list[ResponseOption] | None = None
    range: ScaleLabels | None = None


class InstrumentTranslation(_Strict):
    """The words of one instrument in one language, and whose validation they come from."""

    instrument: str
    version: str = Field(min_length=1)
    language: str
    # Who validated this wording, and where it is published: a clinic states it, Tend checks
    # only that it is given.
    validation: str = Field(min_length=1)
    title: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    instructions: str | None = None
    options: list[ResponseOption] | None = None
    range: ScaleLabels | None = None
    items: list[ItemTranslation] = Field(min_length=1)


def _same_options(
    original: list[ResponseOption] | None, given: list[ResponseOption] | None, loc: Location
) -> list[tuple[Location, str]]:
    if original is None:
        return [(loc, "the original has no answer options here")] if given is not None else []
    if given is None:
        return [(loc, "give the answer labels: the original has options here")]
    if [o.value for o in given] != [o.value for o in original]:
        values = ", ".join(str(o.value) for o in original)
        return [(loc, f"the values must be the original's, in order: {values}")]
    return []


def _same_labels(
    original: NumericRange | None, given: ScaleLabels | None, loc: Location
) -> list[tuple[Location, str]]:
    labelled = original is not None and bool(original.min_label or original.max_label)
    if labelled and given is None:
        return [(loc, "give min_label and max_label: the original labels this scale")]
    if not labelled and given is not None:
        return [(loc, "the original has no scale labels here")]
    return []


def cross_check(
    translation: InstrumentTranslation, original: Instrument
) -> list[tuple[Location, str]]:
    """Where the translation does not match the original item for item and value for value."""
    problems: list[tuple[Location, str]] = []
    if translation.version != original.version:
        problems.append((("version",), f"translates version {original.version!r} of the original"))
    if (translation.instructions is None) != (original.instructions is None):
        problems.append((("instructions",), "give instructions exactly when the original does"))
    problems += _same_options(original.options, translation.options, ("options",))
    problems += _same_labels(original.range, translation.range, ("range",))
    given = [item.id for item in translation.items]
    if given != original.item_ids:
        problems.append((("items",), f"give every item in order: {', '.join(original.item_ids)}"))
        return problems
    for index, item in enumerate(translation.items):
        source = original.item(item.id)
        problems += _same_options(source.options, item.options, ("items", index, "options"))
        problems += _same_labels(source.range, item.range, ("items", index, "range"))
    return problems


def load_translation(path: Path, originals: dict[str, Instrument]) -> InstrumentTranslation:
    """Read and check the translation ``<id>.<language>.yaml`` against its original, raising
    InstrumentFileError with every problem, each naming the line and field."""
    data, lines = read_instrument_file(path)
    if not isinstance(data, dict):
        raise InstrumentFileError(path, [f"{path.name}: expected a mapping of fields at the top"])
    try:
        translation = InstrumentTranslation.model_validate(data)
    except ValidationError as error:
        raise InstrumentFileError(path, validation_problems(path, lines, error)) from error
    problems: list[tuple[Location, str]] = []
    if path.name != f"{translation.instrument}.{translation.language}.yaml":
        problems.append((("language",), "the file must be named <instrument>.<language>.yaml"))
    offered = sorted(set(SUPPORTED_LANGUAGES) - {DEFAULT_LANGUAGE})
    if translation.language not in offered:
        problems.append((("language",), f"must be one of {', '.join(offered)}"))
    original = originals.get(translation.instrument)
    if original is None:
        problems.append((("instrument",), f"no instrument {translation.instrument!r}"))
    else:
        problems += cross_check(translation, original)
    if problems:
        raise InstrumentFileError(
            path, [f"{where(path, lines, loc)}: {describe(loc)}: {text}" for loc, text in problems]
        )
    return translation


def load_translations(
    directories: list[Path], originals: dict[str, Instrument]
) -> dict[tuple[str, str], InstrumentTranslation]:
    """Every translation in ``directories``, by (instrument id, language); a later directory's
    replaces an earlier one's. Every file's problems are reported together."""
    found: dict[tuple[str, str], InstrumentTranslation] = {}
    problems: list[str] = []
    for directory in directories:
        for path in sorted(p for p in directory.glob("*.yaml") if is_translation_file(p)):
            try:
                translation = load_translation(path, originals)
            except InstrumentFileError as error:
                problems.extend(error.problems)
                continue
            found[translation.instrument, translation.language] = translation
    if problems:
        raise InstrumentFileError(directories[-1], problems)
    return found


def _worded_range(
    scale: NumericRange | None, translated: ScaleLabels | None
) -> NumericRange | None:
    """The scale with the translation's words for its ends (its numbers stay the original's)."""
    if scale is None or translated is None:
        return scale
    return scale.model_copy(update=translated.model_dump())


def _item(item: Item, translated: ItemTranslation) -> Item:
    return item.model_copy(
        update={
            "text": translated.text,
            "options": translated.options or item.options,
            "range": _worded_range(item.range, translated.range),
        }
    )


def worded(original: Instrument, translation: InstrumentTranslation) -> Instrument:
    """The original with the translation's words: the same items, values, scoring and safety
    rules, so answers to it are scored and flagged exactly as answers to the original."""
    return original.model_copy(
        update={
            "title": translation.title,
            "short_name": translation.short_name,
            "instructions": translation.instructions,
            "options": translation.options or original.options,
            "range": _worded_range(original.range, translation.range),
            "items": [
                _item(item, given)
                for item, given in zip(original.items, translation.items, strict=True)
            ],
        }
    )
