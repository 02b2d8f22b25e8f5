"""Standardised measures as data: the instrument file schema, its cross-checks and the loader.

One YAML file per instrument (``<id>.yaml``); ``docs/instruments.md`` describes the format.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"

Timepoint = Literal["baseline", "weekly", "end", "follow_up"]
Location = tuple[str | int, ...]

SLUG = r"^[a-z][a-z0-9_]*$"
LOINC_CODE = r"^[0-9]{1,7}-[0-9]$"


class _Strict(BaseModel):
    # Unknown keys are refused so that a typo in a clinic's file is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseOption(_Strict):
    """One answer a person can choose: the value scored and the label shown."""

    value: int
    label: str = Field(min_length=1)


class NumericRange(_Strict):
    """A whole-number rating scale, such as 0-10, with optional anchor labels."""

    min: int
    max: int
    min_label: str | None = None
    max_label: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NumericRange:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class Item(_Strict):
    """One question; ``text`` may be absent when the wording is licensed and cannot be shipped."""

    id: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    text: str | None = None
    options: list[ResponseOption] | None = Field(default=None, min_length=2)
    range: NumericRange | None = None
    loinc: str | None = Field(default=None, pattern=LOINC_CODE)


class ScoreRange(_Strict):
    """The lowest and highest possible score."""

    min: float
    max: float


class Subscale(_Strict):
    """A named subset of items scored with the instrument's method."""

    id: str = Field(pattern=SLUG)
    label: str
    items: list[str] = Field(min_length=1)


class MissingRule(_Strict):
    """How many scored items may be unanswered; missing answers are prorated, never taken as 0."""

    max_missing: int = Field(default=0, ge=0)
    source: str | None = None


class Scoring(_Strict):
    """How answers become a score."""

    method: Literal["sum", "mean"]
    items: list[str] | None = Field(default=None, min_length=1)
    reverse_items: list[str] = []
    range: ScoreRange
    decimals: int = Field(default=0, ge=0, le=4)
    missing: MissingRule = MissingRule()
    subscales: list[Subscale] = []


class Band(_Strict):
    """A labelled score range, both ends included."""

    min: float
    max: float
    label: str = Field(min_length=1)


class Caseness(_Strict):
    """The clinical cut-off: a score at or above (or at or below) it counts as a case."""

    at_or_above: float | None = None
    at_or_below: float | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Caseness:
        if (self.at_or_above is None) == (self.at_or_below is None):
            raise ValueError("give exactly one of at_or_above or at_or_below")
        return self


class ReliableChange(_Strict):
    """A fixed reliable-change threshold, or a published reliability and reference SD for the
    Jacobson-Truax index: never a sample's own SD, so every page and export uses one threshold."""

    threshold: float | None = Field(default=None, gt=0)
    reliability: float | None = Field(default=None, gt=0, lt=1)
    reference_sd: float | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _usable(self) -> ReliableChange:
        if self.threshold is None and self.reliability is None:
            raise ValueError("give a threshold, or a reliability for the Jacobson-Truax index")
        if self.threshold is None and self.reference_sd is None:
            raise ValueError(
                "the Jacobson-Truax index needs a published reference_sd beside the reliability"
            )
        if self.reference_sd is not None and self.reliability is None:
            raise ValueError("reference_sd needs a reliability")
        return self


class ImportantChange(_Strict):
    """Pain change rules (IMMPACT), each counted on its own: an improvement of at least
    ``points``, of ``moderate_percent`` (moderately important) and of ``substantial_percent``
    (substantially important) of the baseline's distance from the best score."""

    points: float = Field(gt=0)
    moderate_percent: float = Field(gt=0, le=100)
    substantial_percent: float = Field(gt=0, le=100)
    source: str = Field(min_length=1)


class Loinc(_Strict):
    """LOINC codes for the panel (the whole form) and the total score, where they exist."""

    panel: str | None = Field(default=None, pattern=LOINC_CODE)
    total: str | None = Field(default=None, pattern=LOINC_CODE)


class SafetyItem(_Strict):
    """An item whose answer above ``above`` must trigger the safety response at once."""

    item: str
    above: int = 0


class Instrument(_Strict):
    """A standardised measure: its items, scoring, interpretation and change rules."""

    id: str = Field(pattern=SLUG)
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    recall_period: str | None = None
    instructions: str | None = None
    higher_is_better: bool
    options: list[ResponseOption] | None = Field(default=None, min_length=2)
    range: NumericRange | None = None
    items: list[Item] = Field(min_length=1)
    scoring: Scoring
    bands: list[Band] = []
    caseness: Caseness | None = None
    reliable_change: ReliableChange | None = None
    important_change: ImportantChange | None = None
    loinc: Loinc = Loinc()
    safety_items: list[SafetyItem] = []
    timepoints: list[Timepoint] = ["baseline", "end", "follow_up"]

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        problems = cross_check(self)
        if problems:
            raise ValueError("\n".join(f"{describe(loc)}: {message}" for loc, message in problems))
        return self

    @property
    def item_ids(self) -> list[str]:
        """Every item id, in order."""
        return [item.id for item in self.items]

    @property
    def scored_item_ids(self) -> list[str]:
        """The ids of the items that count towards the total, in order."""
        return self.scoring.items if self.scoring.items is not None else self.item_ids

    def item(self, item_id: str) -> Item:
        """The item with this id."""
        return next(item for item in self.items if item.id == item_id)

    def options_for(self, item_id: str) -> list[ResponseOption] | None:
        """The answers item ``item_id`` offers as a list (its own, else the instrument's), or
        None when it is answered on a numeric range."""
        item = self.item(item_id)
        return item.options or (None if item.range else self.options)

    def range_for(self, item_id: str) -> NumericRange | None:
        """The numeric range item ``item_id`` is answered on, or None when it has options."""
        if self.options_for(item_id) is not None:
            return None
        return self.item(item_id).range or self.range

    def allowed_values(self, item_id: str) -> list[int]:
        """The answers item ``item_id`` accepts, lowest first."""
        options = self.options_for(item_id)
        if options is not None:
            return sorted(option.value for option in options)
        scale = self.range_for(item_id)
        assert scale is not None  # cross_check guarantees every item has a scale
        return list(range(scale.min, scale.max + 1))

    @property
    def step(self) -> Fraction:
        """The smallest difference between two scores, given the rounding."""
        return Fraction(1, 10**self.scoring.decimals)


def _exact(value: float) -> Fraction:
    # Through str, so that 1.49 from a file is exactly 149/100, not its nearest binary float.
    return Fraction(str(value))


def _score_bounds(instrument: Instrument) -> tuple[Fraction, Fraction]:
    ids = instrument.scored_item_ids
    low = Fraction(sum(min(instrument.allowed_values(i)) for i in ids))
    high = Fraction(sum(max(instrument.allowed_values(i)) for i in ids))
    if instrument.scoring.method == "mean":
        return low / len(ids), high / len(ids)
    return low, high


def _check_items(instrument: Instrument) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    seen: set[str] = set()
    if instrument.options is not None and instrument.range is not None:
        problems.append((("options",), "give options or range, not both"))
    for index, item in enumerate(instrument.items):
        if item.id in seen:
            problems.append((("items", index, "id"), f"item id {item.id!r} is used twice"))
        seen.add(item.id)
        if item.options is not None and item.range is not None:
            problems.append((("items", index), "give options or range, not both"))
        options = item.options or (None if item.range else instrument.options)
        if options is None and item.range is None and instrument.range is None:
            problems.append((("items", index), "no options or range, here or for the instrument"))
        if options is not None and len({o.value for o in options}) != len(options):
            problems.append((("items", index, "options"), "option values must be unique"))
    return problems


def _check_item_refs(instrument: Instrument) -> list[tuple[Location, str]]:
    known = set(instrument.item_ids)
    scored = set(instrument.scored_item_ids)
    refs: list[tuple[Location, list[str], set[str], str]] = [
        (("scoring", "items"), instrument.scoring.items or [], known, "is not an item"),
        (("scoring", "reverse_items"), instrument.scoring.reverse_items, scored, "is not scored"),
    ]
    for index, subscale in enumerate(instrument.scoring.subscales):
        refs.append(
            (("scoring", "subscales", index, "items"), subscale.items, scored, "is not scored")
        )
    problems = [
        (loc, f"{item_id!r} {problem}")
        for loc, ids, allowed, problem in refs
        for item_id in ids
        if item_id not in allowed
    ]
    for index, safety in enumerate(instrument.safety_items):
        if safety.item not in known:
            problems.append((("safety_items", index, "item"), f"{safety.item!r} is not an item"))
    return problems


def _check_scoring(instrument: Instrument) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    n_scored = len(instrument.scored_item_ids)
    if instrument.scoring.missing.max_missing >= n_scored:
        problems.append(
            (("scoring", "missing", "max_missing"), f"must be below the {n_scored} scored items")
        )
    low, high = _score_bounds(instrument)
    declared = instrument.scoring.range
    if (_exact(declared.min), _exact(declared.max)) != (low, high):
        problems.append(
            (
                ("scoring", "range"),
                f"declared {declared.min:g}-{declared.max:g} but the items give "
                f"{float(low):g}-{float(high):g}",
            )
        )
    return problems


def _check_bands(instrument: Instrument) -> list[tuple[Location, str]]:
    if not instrument.bands:
        return []
    problems: list[tuple[Location, str]] = []
    bands = instrument.bands
    low, high = instrument.scoring.range.min, instrument.scoring.range.max
    for index, band in enumerate(bands):
        if band.min > band.max:
            problems.append((("bands", index), f"min {band.min:g} is above max {band.max:g}"))
    if _exact(bands[0].min) != _exact(low):
        problems.append((("bands", 0, "min"), f"the first band must start at {low:g}"))
    if _exact(bands[-1].max) != _exact(high):
        problems.append((("bands", len(bands) - 1, "max"), f"the last band must end at {high:g}"))
    for index in range(1, len(bands)):
        expected = _exact(bands[index - 1].max) + instrument.step
        found = _exact(bands[index].min)
        if found != expected:
            kind = "gap" if found > expected else "overlap"
            problems.append(
                (
                    ("bands", index, "min"),
                    f"{kind}: after a band ending at {bands[index - 1].max:g} "
                    f"the next must start at {float(expected):g}, not {float(found):g}",
                )
            )
    return problems


def _check_rules(instrument: Instrument) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    low, high = instrument.scoring.range.min, instrument.scoring.range.max
    if instrument.caseness is not None:
        cut = instrument.caseness.at_or_above
        cut = instrument.caseness.at_or_below if cut is None else cut
        if cut is not None and not low <= cut <= high:
            problems.append((("caseness",), f"cut-off {cut:g} is outside {low:g}-{high:g}"))
    threshold = instrument.reliable_change.threshold if instrument.reliable_change else None
    if threshold is not None and threshold > high - low:
        problems.append((("reliable_change", "threshold"), "is larger than the whole range"))
    for index, safety in enumerate(instrument.safety_items):
        if safety.item in instrument.item_ids:
            values = instrument.allowed_values(safety.item)
            if not values[0] <= safety.above < values[-1]:
                problems.append(
                    (("safety_items", index, "above"), "no answer to this item could trigger it")
                )
    return problems


def cross_check(instrument: Instrument) -> list[tuple[Location, str]]:
    """Problems that no single field shows: unknown item ids, ranges, bands, cut-offs."""
    problems = _check_items(instrument) + _check_item_refs(instrument)
    if problems:
        # The remaining checks read item scales and references, so they need these to hold.
        return problems
    return _check_scoring(instrument) + _check_bands(instrument) + _check_rules(instrument)


class InstrumentFileError(ValueError):
    """An instrument file that cannot be used; each line names the file, line, field and problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


def describe(loc: Location) -> str:
    """``("items", 2, "text")`` as ``items[2].text``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line_map(node: yaml.Node | None) -> dict[Location, int]:
    lines: dict[Location, int] = {}
    stack: list[tuple[yaml.Node, Location]] = [(node, ())] if node is not None else []
    while stack:
        current, loc = stack.pop()
        lines.setdefault(loc, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                lines[(*loc, str(key.value))] = key.start_mark.line + 1
                stack.append((value, (*loc, str(key.value))))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((value, (*loc, index)) for index, value in enumerate(current.value))
    return lines


def where(path: Path, lines: dict[Location, int], loc: Location) -> str:
    """``file.yaml:<line>`` of field ``loc`` (or its nearest parent in the file)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return f"{path.name}:{lines[loc[:end]]}"
    return path.name


def read_instrument_file(path: Path) -> tuple[Any, dict[Location, int]]:
    """The file's YAML and the line of each field, or InstrumentFileError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text), _line_map(yaml.compose(text, Loader=yaml.SafeLoader))
    except OSError as error:
        raise InstrumentFileError(path, [f"{path.name}: cannot be read ({error})"]) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"{path.name}:{mark.line + 1}" if mark else path.name
        problem = getattr(error, "problem", None) or str(error)
        raise InstrumentFileError(path, [f"{place}: not valid YAML ({problem})"]) from error


def validation_problems(
    path: Path, lines: dict[Location, int], error: ValidationError
) -> list[str]:
    """Each problem pydantic found, as ``file.yaml:<line>: field: problem``."""
    problems = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "value_error" and not loc:
            # Cross-check messages arrive as "field.path: problem" lines; locate each one.
            for line in message.splitlines():
                field, _, problem = line.partition(": ")
                problems.append(f"{where(path, lines, _parse(field))}: {field}: {problem}")
            continue
        problems.append(f"{where(path, lines, loc)}: {describe(loc)}: {message}")
    return problems


def _parse(field: str) -> Location:
    loc: list[str | int] = []
    for part in field.replace("[", ".[").split("."):
        if part.startswith("["):
            loc.append(int(part.strip("[]")))
        elif part:
            loc.append(part)
    return tuple(loc)


def load_instrument(path: Path) -> Instrument:
    """Read and validate one instrument file, raising InstrumentFileError with every problem."""
    data, lines = read_instrument_file(path)
    if not isinstance(data, dict):
        raise InstrumentFileError(path, [f"{path.name}: expected a mapping of fields at the top"])
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as error:
        raise InstrumentFileError(path, validation_problems(path, lines, error)) from error
    if instrument.id != path.stem:
        raise InstrumentFileError(
            path,
            [f"{where(path, lines, ('id',))}: id: {instrument.id!r} must match the file name"],
        )
    return instrument


def is_translation_file(path: Path) -> bool:
    """Whether ``path`` is a translation (``<id>.<language>.yaml``) rather than an instrument."""
    return "." in path.stem


def load_instruments(directory: Path = INSTRUMENTS_DIR) -> dict[str, Instrument]:
    """Load every ``<id>.yaml`` instrument in ``directory`` by id, reporting all files' problems
    (translations beside them are read by app.outcomes.translations)."""
    instruments: dict[str, Instrument] = {}
    problems: list[str] = []
    for path in sorted(p for p in directory.glob("*.yaml") if not is_translation_file(p)):
        try:
            instruments[path.stem] = load_instrument(path)
        except InstrumentFileError as error:
            problems.extend(error.problems)
    if problems:
        raise InstrumentFileError(directory, problems)
    return instruments
