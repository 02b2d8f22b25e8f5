"""Check an exported FHIR bundle against HL7's own R4 JSON schema and the pydantic models.

The schema (tests/exports/fhir_r4/, see its README for the source) is the authority for
FHIR R4 4.0.1. `fhir.resources` has no R4 models in its pydantic-2 releases (R5 by default,
R4B and STU3 as sub-packages), so the R4B models are a second, stricter-on-types opinion.
"""

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from fhir.resources.R4B.bundle import Bundle

SCHEMA_PATH = Path(__file__).parent / "fhir_r4" / "fhir.schema.json"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"


@cache
def _schema() -> dict[str, Any]:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "the R4 schema copy was changed"
    schema: dict[str, Any] = json.loads(raw)
    return schema


@cache
def _validator(resource_type: str) -> jsonschema_rs.Draft6Validator:
    # One resource type's definition with every definition it may refer to: its errors name
    # the field, where the whole schema's oneOf over 140 resource types names nothing.
    schema = _schema()
    assert resource_type in schema["definitions"], f"{resource_type} is not an R4 resource"
    return jsonschema_rs.Draft6Validator(
        {"$ref": f"#/definitions/{resource_type}", "definitions": schema["definitions"]}
    )


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """What HL7's R4 schema finds wrong with one resource (a Bundle: everything in it)."""
    kind = resource["resourceType"]
    return [
        f"{kind} at /{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in _validator(kind).iter_errors(resource)
    ]


def assert_valid_r4_bundle(data: dict[str, Any]) -> None:
    """Raise with every problem when the bundle is not valid FHIR R4."""
    assert data.get("resourceType") == "Bundle"
    errors = schema_errors(data)
    for entry in data.get("entry", []):
        errors += schema_errors(entry["resource"])
    assert not errors, "\n".join(errors[:20])
    # bdl-7, an invariant no JSON schema can state: each fullUrl once.
    full_urls = [entry["fullUrl"] for entry in data.get("entry", [])]
    assert len(full_urls) == len(set(full_urls)), "a fullUrl appears twice"
    Bundle.model_validate(data)  # the R4B models: types, cardinality, required elements
