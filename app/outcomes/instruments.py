"""The instruments Tend knows: the shipped definitions, then the clinic's own, by id and in
reporting order."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from app.config import get_settings
from app.errors import NotFound
from app.outcomes.definitions import INSTRUMENTS_DIR, Instrument, load_instruments
from app.outcomes.translations import (
    ORIGINAL_LANGUAGE,
    InstrumentTranslation,
    load_translations,
    worded,
)

# Measures in the order the study reported them, then anything a clinic adds.
MEASURE_ORDER = ("pain_distress", "pain_intensity", "gad7", "phq9", "pseq", "scs_sf", "peg")


def instrument_directories() -> list[Path]:
    """The shipped instruments, then the clinic's own (``$TEND_DATA_DIR/instruments``)."""
    own = get_settings().data_dir / "instruments"
    return [INSTRUMENTS_DIR, *([own] if own.is_dir() else [])]


def load_instrument_directories(directories: Sequence[Path]) -> dict[str, Instrument]:
    """Instruments from each directory in turn; a later file with the same id replaces one
    before it (so a clinic's copy of pseq.yaml with its licensed item text wins)."""
    known: dict[str, Instrument] = {}
    for directory in directories:
        known.update(load_instruments(directory))
    return known


@lru_cache(maxsize=1)
def instruments() -> dict[str, Instrument]:
    """Every instrument Tend knows, by id (read once per process: restart after adding one)."""
    return load_instrument_directories(instrument_directories())


@lru_cache(maxsize=1)
def translations() -> dict[tuple[str, str], InstrumentTranslation]:
    """The validated translations clinics supplied, by (instrument id, language); Tend ships
    none (read once per process, like the instruments)."""
    return load_translations(instrument_directories(), instruments())


def in_language(instrument: Instrument, language: str) -> tuple[Instrument, str]:
    """The instrument worded in ``language`` when the clinic supplied a validated translation,
    else the original; and the language its words are in. Never a translation of Tend's own."""
    translation = translations().get((instrument.id, language))
    if translation is None:
        return instrument, ORIGINAL_LANGUAGE
    return worded(instrument, translation), language


def get_instrument(instrument_id: str) -> Instrument:
    """The instrument with this id; 404 when there is none."""
    found = instruments().get(instrument_id)
    if found is None:
        raise NotFound(f"No questionnaire {instrument_id!r}.")
    return found


def ordered_instruments() -> list[Instrument]:
    """Instruments in reporting order."""
    known = instruments()
    rank = {key: index for index, key in enumerate(MEASURE_ORDER)}
    return sorted(known.values(), key=lambda i: (rank.get(i.id, len(rank)), i.id))


def has_item_text(instrument: Instrument) -> bool:
    """Whether a patient can answer it on screen (the PSEQ ships without item text)."""
    return all(item.text for item in instrument.items)
