"""A FHIR R4 Bundle (type collection) of questionnaire responses, scores and 0-10 check-ins.

Pure: no database. The export service feeds it records through iterators, already
pseudonymised and date-shifted, and it writes the bundle entry by entry so memory does not
grow with the number of records.
"""

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PARTICIPANT_SYSTEM = "urn:tend:participant"
TEND_CODES = "urn:tend:code"
TIMEPOINT_EXTENSION = "urn:tend:extension:timepoint"
PRORATED_EXTENSION = "urn:tend:extension:prorated"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("5b1f8e0e-7d1c-4c53-9d55-3f0f6e1a2b7c")

# The 0-10 check-in ratings; only pain intensity has a LOINC code.
CHECK_IN_CODES: dict[str, tuple[str, str, str]] = {
    "pain_intensity": (
        LOINC,
        "72514-3",
        "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    ),
    "pain_distress": (
        TEND_CODES,
        "pain_distress",
        "Pain distress 0-10 (how much the pain bothers)",
    ),
    "mood": (TEND_CODES, "mood", "Mood 0-10 (0 = very low, 10 = very good)"),
}


@dataclass(frozen=True)
class ScoreRecord:
    """One completed questionnaire administration, as the outcomes module scored it."""

    administration_id: str
    participant_code: str
    instrument: str
    timepoint: str
    total: float
    completed_at: datetime
    items: Sequence[tuple[str, float]] = field(default_factory=tuple)  # (item id, answer)
    instrument_title: str = ""
    loinc_panel: str | None = None
    loinc_total: str | None = None
    prorated: bool = False  # unanswered items filled by the mean of the answered ones
    group_code: str = ""  # dates shift per group


@dataclass(frozen=True)
class CheckInRecord:
    """One 0-10 check-in: up to three ratings given together."""

    participant_code: str
    checkin_id: str
    recorded_at: datetime
    pain_intensity: int | None = None
    pain_distress: int | None = None
    mood: int | None = None


def date_time(moment: datetime) -> str:
    """A FHIR dateTime that always carries its UTC offset (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _urn(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}:{key}')}"


def _subject(code: str) -> dict[str, Any]:
    return {"identifier": {"system": PARTICIPANT_SYSTEM, "value": code}}


def _number(value: float) -> dict[str, Any]:
    return {"valueInteger": int(value)} if float(value).is_integer() else {"valueDecimal": value}


def _survey() -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]


def score_entries(record: ScoreRecord) -> Iterator[dict[str, Any]]:
    """The QuestionnaireResponse, the total-score Observation and (with a panel code) the panel."""
    when = date_time(record.completed_at)
    timepoint = [{"url": TIMEPOINT_EXTENSION, "valueString": record.timepoint}]
    response_url = _urn("qr", record.administration_id)
    yield {
        "fullUrl": response_url,
        "resource": {
            "resourceType": "QuestionnaireResponse",
            "extension": timepoint,
            "questionnaire": f"urn:tend:questionnaire:{record.instrument}",
            "status": "completed",
            "subject": _subject(record.participant_code),
            "authored": when,
            "item": [
                {"linkId": item_id, "answer": [_number(value)]} for item_id, value in record.items
            ],
        },
    }
    total_url = _urn("total", record.administration_id)
    title = record.instrument_title or record.instrument
    total_code = (
        {"system": LOINC, "code": record.loinc_total, "display": f"{title} total score"}
        if record.loinc_total
        else {"system": TEND_CODES, "code": f"{record.instrument}-total"}
    )
    yield {
        "fullUrl": total_url,
        "resource": {
            "resourceType": "Observation",
            # A prorated total says so; a total without the extension was not prorated.
            "extension": timepoint
            + ([{"url": PRORATED_EXTENSION, "valueBoolean": True}] if record.prorated else []),
            "status": "final",
            "category": _survey(),
            "code": {"coding": [total_code], "text": f"{title} total score"},
            "subject": _subject(record.participant_code),
            "effectiveDateTime": when,
            "valueQuantity": {
                "value": record.total,
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            },
            "derivedFrom": [{"reference": response_url}],
        },
    }
    if record.loinc_panel:
        # The panel code names the whole questionnaire: never on the total-score Observation.
        yield {
            "fullUrl": _urn("panel", record.administration_id),
            "resource": {
                "resourceType": "Observation",
                "extension": timepoint,
                "status": "final",
                "category": _survey(),
                "code": {
                    "coding": [{"system": LOINC, "code": record.loinc_panel}],
                    "text": title,
                },
                "subject": _subject(record.participant_code),
                "effectiveDateTime": when,
                "hasMember": [{"reference": total_url}],
                "derivedFrom": [{"reference": response_url}],
            },
        }


def check_in_entries(record: CheckInRecord) -> Iterator[dict[str, Any]]:
    """One Observation per rating given at the check-in."""
    for name, (system, code, display) in CHECK_IN_CODES.items():
        value = getattr(record, name)
        if value is None:
            continue
        yield {
            "fullUrl": _urn(f"checkin-{name}", record.checkin_id),
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "category": _survey(),
                "code": {"coding": [{"system": system, "code": code, "display": display}]},
                "subject": _subject(record.participant_code),
                "effectiveDateTime": date_time(record.recorded_at),
                "valueInteger": int(value),
            },
        }


def write_bundle(
    path: Path,
    *,
    scores: Iterable[ScoreRecord],
    check_ins: Iterable[CheckInRecord],
    timestamp: datetime,
) -> dict[str, int]:
    """Write the Bundle as JSON, one entry at a time; the count of each resource type."""
    counts = {"QuestionnaireResponse": 0, "Observation": 0}
    head = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": date_time(timestamp),
    }
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(head)[:-1] + ', "entry": [\n')
        first = True
        for entries in (
            (e for record in scores for e in score_entries(record)),
            (e for record in check_ins for e in check_in_entries(record)),
        ):
            for entry in entries:
                counts[entry["resource"]["resourceType"]] += 1
                out.write(("" if first else ",\n") + json.dumps(entry, separators=(",", ":")))
                first = False
        out.write("\n]}\n")
    return counts
