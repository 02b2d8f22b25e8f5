"""The instrument file format: the shipped instruments, and the loader's checks and messages."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.outcomes.definitions import (
    INSTRUMENTS_DIR,
    Instrument,
    InstrumentFileError,
    load_instrument,
    load_instruments,
)
from tests.outcomes import instrument_data

SHIPPED = {"pain_intensity", "pain_distress", "phq9", "gad7", "peg", "scs_sf", "pseq"}


@pytest.fixture(scope="module")
def shipped() -> dict[str, Instrument]:
    return load_instruments()


def write(directory: Path, data: Any, name: str = "demo") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(InstrumentFileError) as caught:
        load_instrument(path)
    return str(caught.value)


def test_every_shipped_instrument_loads(shipped: dict[str, Instrument]) -> None:
    assert set(shipped) == SHIPPED
    for instrument in shipped.values():
        assert instrument.citation and instrument.licence


def test_phq9_definition(shipped: dict[str, Instrument]) -> None:
    phq9 = shipped["phq9"]
    assert len(phq9.items) == 9 and all(item.text for item in phq9.items)
    assert phq9.allowed_values("q1") == [0, 1, 2, 3]
    assert [(b.min, b.max) for b in phq9.bands] == [(0, 4), (5, 9), (10, 14), (15, 19), (20, 27)]
    assert phq9.caseness is not None and phq9.caseness.at_or_above == 10
    assert phq9.reliable_change is not None and phq9.reliable_change.threshold == 6
    assert (phq9.loinc.panel, phq9.loinc.total) == ("44249-1", "44261-6")
    assert [(s.item, s.above) for s in phq9.safety_items] == [("q9", 0)]
    assert not phq9.higher_is_better


def test_gad7_definition(shipped: dict[str, Instrument]) -> None:
    gad7 = shipped["gad7"]
    assert len(gad7.items) == 7
    assert [(b.min, b.max) for b in gad7.bands] == [(0, 4), (5, 9), (10, 14), (15, 21)]
    assert gad7.caseness is not None and gad7.caseness.at_or_above == 8
    assert gad7.reliable_change is not None and gad7.reliable_change.threshold == 4
    assert (gad7.loinc.panel, gad7.loinc.total) == ("69737-5", "70274-6")


def test_pain_and_self_compassion_definitions(shipped: dict[str, Instrument]) -> None:
    pain = shipped["pain_intensity"]
    # 72514-3 is a point-in-time rating, not a 7-day average: no LOINC code rather than a wrong one.
    assert pain.loinc.total is None and "weekly" in pain.timepoints
    assert pain.important_change is not None
    rule = pain.important_change
    assert (rule.points, rule.moderate_percent, rule.substantial_percent) == (2, 30, 50)
    scs = shipped["scs_sf"]
    assert scs.scoring.method == "mean" and scs.higher_is_better
    assert scs.scoring.reverse_items == ["q1", "q4", "q8", "q9", "q11", "q12"]
    # No published reference SD for the short form, so no reliable-change rule.
    assert scs.reliable_change is None
    assert shipped["peg"].scoring.method == "mean"


def test_pseq_ships_without_item_text(shipped: dict[str, Instrument]) -> None:
    pseq = shipped["pseq"]
    assert len(pseq.items) == 10 and all(item.text is None for item in pseq.items)
    assert (pseq.scoring.range.min, pseq.scoring.range.max) == (0, 60)
    assert "licence" in pseq.licence.lower()


def test_no_licensed_instrument_is_shipped() -> None:
    names = {path.stem for path in INSTRUMENTS_DIR.glob("*")}
    assert not names & {"hads", "bpi"}


def test_a_valid_file_loads(tmp_path: Path) -> None:
    instrument = load_instrument(write(tmp_path, instrument_data()))
    assert instrument.scored_item_ids == ["i1", "i2", "i3", "i4"]


def test_errors_name_file_line_field_and_problem(tmp_path: Path) -> None:
    data = instrument_data()
    data["items"][2]["options"] = [{"value": 0, "label": "No"}]
    message = problems_of(write(tmp_path, data))
    assert message.startswith("demo.yaml:")
    assert "items[2].options" in message and "at least 2" in message


def test_unknown_and_missing_fields_are_refused(tmp_path: Path) -> None:
    data = instrument_data(higher_is_beter=True)
    del data["citation"]
    message = problems_of(write(tmp_path, data))
    assert "higher_is_beter: Extra inputs are not permitted" in message
    assert "citation: Field required" in message


def test_band_gap_and_overlap(tmp_path: Path) -> None:
    gap = instrument_data(
        bands=[{"min": 0, "max": 4, "label": "A"}, {"min": 6, "max": 12, "label": "B"}]
    )
    assert "bands[1].min: gap" in problems_of(write(tmp_path, gap))
    overlap = instrument_data(
        bands=[{"min": 0, "max": 6, "label": "A"}, {"min": 6, "max": 12, "label": "B"}]
    )
    assert "bands[1].min: overlap" in problems_of(write(tmp_path, overlap))


def test_bands_must_cover_the_whole_range(tmp_path: Path) -> None:
    data = instrument_data(
        bands=[{"min": 1, "max": 5, "label": "A"}, {"min": 6, "max": 11, "label": "B"}]
    )
    message = problems_of(write(tmp_path, data))
    assert "bands[0].min: the first band must start at 0" in message
    assert "bands[1].max: the last band must end at 12" in message


def test_bands_of_a_mean_score_step_by_its_decimals(tmp_path: Path) -> None:
    data = instrument_data(
        scoring={"method": "mean", "range": {"min": 0, "max": 3}, "decimals": 2},
        bands=[{"min": 0, "max": 1.49, "label": "A"}, {"min": 1.5, "max": 3, "label": "B"}],
    )
    assert load_instrument(write(tmp_path, data)).step == pytest.approx(0.01)


def test_references_to_unknown_items(tmp_path: Path) -> None:
    scoring = {
        "method": "sum",
        "range": {"min": 0, "max": 12},
        "reverse_items": ["i9"],
        "subscales": [{"id": "part", "label": "Part", "items": ["i1", "i8"]}],
    }
    data = instrument_data(scoring=scoring, safety_items=[{"item": "i7"}])
    message = problems_of(write(tmp_path, data))
    assert "scoring.reverse_items: 'i9' is not scored" in message
    assert "scoring.subscales[0].items: 'i8' is not scored" in message
    assert "safety_items[0].item: 'i7' is not an item" in message


def test_duplicate_item_ids(tmp_path: Path) -> None:
    data = instrument_data()
    data["items"][3]["id"] = "i1"
    assert "items[3].id: item id 'i1' is used twice" in problems_of(write(tmp_path, data))


def test_declared_range_must_match_the_options(tmp_path: Path) -> None:
    data = instrument_data()
    data["options"][3]["value"] = 4
    message = problems_of(write(tmp_path, data))
    assert "scoring.range: declared 0-12 but the items give 0-16" in message


def test_item_without_any_scale(tmp_path: Path) -> None:
    data = instrument_data()
    del data["options"]
    data["bands"] = []
    assert "no options or range" in problems_of(write(tmp_path, data))


def test_rules_outside_the_range(tmp_path: Path) -> None:
    data = instrument_data(
        caseness={"at_or_above": 13},
        reliable_change={"threshold": 20, "source": "x"},
        safety_items=[{"item": "i1", "above": 3}],
    )
    message = problems_of(write(tmp_path, data))
    assert "caseness: cut-off 13 is outside 0-12" in message
    assert "reliable_change.threshold: is larger than the whole range" in message
    assert "safety_items[0].above: no answer to this item could trigger it" in message


def test_reliable_change_needs_a_threshold_or_reliability(tmp_path: Path) -> None:
    data = instrument_data(reliable_change={"reference_sd": 4, "source": "x"})
    message = problems_of(write(tmp_path, data))
    assert "reliable_change: give a threshold, or a reliability" in message


def test_jacobson_truax_needs_a_published_reference_sd(tmp_path: Path) -> None:
    # A reliability alone would fall back on each sample's own SD: one threshold per page.
    data = instrument_data(reliable_change={"reliability": 0.86, "source": "x"})
    message = problems_of(write(tmp_path, data))
    assert "needs a published reference_sd beside the reliability" in message


def test_id_must_match_file_name(tmp_path: Path) -> None:
    assert "must match the file name" in problems_of(write(tmp_path, instrument_data(), "other"))


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text("id: demo\ntitle: [unclosed\n", encoding="utf-8")
    assert problems_of(path).startswith("demo.yaml:3: not valid YAML")


def test_load_instruments_reports_every_broken_file(tmp_path: Path) -> None:
    write(tmp_path, instrument_data())
    write(tmp_path, instrument_data(id="two", version=""), "two")
    write(tmp_path, ["not", "a", "mapping"], "three")
    with pytest.raises(InstrumentFileError) as caught:
        load_instruments(tmp_path)
    assert "two.yaml:" in str(caught.value) and "three.yaml:" in str(caught.value)
    assert "demo.yaml" not in str(caught.value)
