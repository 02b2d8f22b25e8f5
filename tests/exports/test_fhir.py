"""The FHIR R4 Bundle validates, codes scores with LOINC correctly and dates with offsets."""

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from app import clock as app_clock
from app.config import PROJECT_ROOT
from app.db import open_session
from app.demo import seed_demo
from app.exports import fhir
from app.exports.fhir import CheckInRecord, ScoreRecord
from app.exports.service import ExportFormat
from app.groups.models import Enrolment
from app.outcomes import questionnaires
from app.programme import service as programme_service
from tests.exports.conftest import Populated
from tests.exports.fhir_check import assert_valid_r4_bundle, schema_errors
from tests.exports.helpers import export

PANELS = {"44249-1", "69737-5"}
WHEN = datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))


def phq9(code: str = "P-A1", *, when: datetime = WHEN) -> ScoreRecord:
    answers = (1, 2, 0, 3, 1, 1, 2, 0, 0)
    return ScoreRecord(
        administration_id=f"phq9-{code}-{when.date()}",
        participant_code=code,
        instrument="phq9",
        instrument_title="PHQ-9",
        timepoint="baseline",
        total=sum(answers),
        completed_at=when,
        items=tuple((f"phq9_{i + 1}", a) for i, a in enumerate(answers)),
        loinc_panel="44249-1",
        loinc_total="44261-6",
    )


def gad7(code: str = "P-A1") -> ScoreRecord:
    return ScoreRecord(
        administration_id=f"gad7-{code}",
        participant_code=code,
        instrument="gad7",
        instrument_title="GAD-7",
        timepoint="end",
        total=9,
        completed_at=WHEN + timedelta(days=56),
        items=tuple((f"gad7_{i + 1}", 1 if i < 5 else 2) for i in range(7)),
        loinc_panel="69737-5",
        loinc_total="70274-6",
    )


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def date_times(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("authored", "effectiveDateTime", "timestamp", "valueDateTime"):
                yield value
            else:
                yield from date_times(value)
    elif isinstance(node, list):
        for item in node:
            yield from date_times(item)


def check_bundle(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert_valid_r4_bundle(data)  # HL7's R4 schema, then the R4B models
    assert data["type"] == "collection"
    for value in date_times(data):
        assert re.search(r"(Z|[+-]\d\d:\d\d)$", value), value
    for observation in resources(data, "Observation"):
        codes = {c["code"] for c in observation["code"]["coding"]}
        if "hasMember" not in observation:
            assert not codes & PANELS, "a panel code on a score Observation"
    return data


def test_hand_built_scores_and_check_ins_make_a_valid_bundle(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    check_ins = [
        CheckInRecord("P-A1", "c1", datetime(2026, 3, 3, 8, tzinfo=UTC), 6, 5, None),
        CheckInRecord("P-A1", "c2", datetime(2026, 3, 3, 8, 20), 4, None, 7),  # naive: UTC
    ]
    counts = fhir.write_bundle(
        path, scores=[phq9(), gad7()], check_ins=check_ins, timestamp=app_clock.now()
    )
    data = check_bundle(path)
    assert counts == {"QuestionnaireResponse": 2, "Observation": 4 + 4}
    responses = resources(data, "QuestionnaireResponse")
    assert [len(r["item"]) for r in responses] == [9, 7]
    assert responses[0]["authored"] == "2026-03-02T10:30:00+01:00"
    observations = resources(data, "Observation")
    totals = [o for o in observations if "valueQuantity" in o]
    assert [o["code"]["coding"][0]["code"] for o in totals] == ["44261-6", "70274-6"]
    assert [o["valueQuantity"]["value"] for o in totals] == [10, 9]
    panels = [o for o in observations if "hasMember" in o]
    assert [o["code"]["coding"][0]["code"] for o in panels] == ["44249-1", "69737-5"]
    pain = [o for o in observations if o["code"]["coding"][0]["code"] == "72514-3"]
    assert [o["valueInteger"] for o in pain] == [6, 4]
    assert pain[1]["effectiveDateTime"].endswith("+00:00")


def test_exported_bundle_from_real_records_validates_and_is_pseudonymised(
    populated: Populated, engine: Engine, tmp_path: Path
) -> None:
    with open_session(engine, write=True) as session:
        enrolment = session.exec(
            select(Enrolment).where(Enrolment.participant_code == "P-A1")
        ).one()
        questionnaires.record_administration(
            session,
            enrolment=enrolment,
            instrument_id="phq9",
            timepoint="baseline",
            submitted_at=app_clock.now() - timedelta(days=1),
            answers={f"q{i + 1}": a for i, a in enumerate((1, 2, 0, 3, 1, 1, 2, 0, 0))},
        )
        session.commit()
    result = export(
        engine,
        tmp_path / "f",
        format=ExportFormat.fhir,
        study_key="a study key of twenty-plus characters",
        date_shift=True,
    )
    data = check_bundle(tmp_path / "f" / "tend-fhir-bundle.json")
    subjects = {r["subject"]["identifier"]["value"] for e in data["entry"] for r in [e["resource"]]}
    assert not any(s.startswith("P-") for s in subjects)
    pain = [
        o for o in resources(data, "Observation") if o["code"]["coding"][0]["code"] == "72514-3"
    ]
    # Each practice had a before and an after rating: two pain Observations per log.
    assert len(pain) == 2 * sum(populated.logs.values())
    assert result.table_rows == {"QuestionnaireResponse": 1, "Observation": len(data["entry"]) - 1}
    # The score's participant carries the same pseudonym as their check-ins.
    response = resources(data, "QuestionnaireResponse")[0]
    assert response["subject"]["identifier"]["value"] in subjects
    totals = [o for o in resources(data, "Observation") if "valueQuantity" in o]
    assert [(o["code"]["coding"][0]["code"], o["valueQuantity"]["value"]) for o in totals] == [
        ("44261-6", 10)
    ]


def test_a_prorated_total_says_so_and_the_bundle_still_validates(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    prorated = dataclasses.replace(phq9(), prorated=True)
    fhir.write_bundle(path, scores=[prorated, gad7()], check_ins=[], timestamp=app_clock.now())
    totals = [o for o in resources(check_bundle(path), "Observation") if "valueQuantity" in o]
    marked = [
        [e["valueBoolean"] for e in o["extension"] if e["url"] == fhir.PRORATED_EXTENSION]
        for o in totals
    ]
    assert marked == [[True], []]  # the PHQ-9 was prorated, the GAD-7 not


def test_the_demo_clinics_bundle_is_valid_r4(engine: Engine, tmp_path: Path) -> None:
    with app_clock.fixed_at(datetime(2026, 11, 26, 12, tzinfo=UTC)):
        with open_session(engine, write=True) as session:
            programme_service.load_programme_file(
                session,
                programme_service.default_programme_path(PROJECT_ROOT / "audio" / "programmes"),
            )
            seed_demo(session, today=date(2026, 11, 26), seed=7, password="demo-password")
            session.commit()
        export(engine, tmp_path, login="clinician@demo.example", format=ExportFormat.fhir)
    data = check_bundle(tmp_path / "tend-fhir-bundle.json")
    kinds = {e["resource"]["resourceType"] for e in data["entry"]}
    assert kinds == {"QuestionnaireResponse", "Observation"}
    assert len(data["entry"]) > 1000  # months of ratings and three rounds of measures


def test_the_schema_check_names_what_r4_does_not_allow() -> None:
    """The check has teeth: each of these is a real mistake an exporter could make."""
    observation = {
        "resourceType": "Observation",
        "status": "done",  # not in R4's ObservationStatus
        "code": {"text": "pain"},
        "valueInteger": "7",  # a string where R4 wants a number
    }
    errors = schema_errors(observation)
    assert any("/status" in e for e in errors) and any("/valueInteger" in e for e in errors)
    # A resource type R4 does not have (R4B and R5 do).
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "SubscriptionStatus", "status": "active"}}],
    }
    assert schema_errors(bundle)
