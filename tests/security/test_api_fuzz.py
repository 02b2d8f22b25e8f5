"""Schemathesis against /openapi.json, signed in as each role: no 500s, and every documented
answer matches its schema. Bounded (a few examples per operation) so the suite stays fast."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.config import Settings
from app.db import create_db_engine
from app.main import create_app
from tests.factories import build_world, login

from .databases import ENGINES, private_database

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api_fuzz")]
ROLES = {
    "anonymous": None,
    "patient": "P-A1",
    "facilitator": "fa@one.example",
    "clinician": "clinician@one.example",
    "admin": "admin@one.example",
}
UNLIMITED = 1_000_000
Credentials = dict[str, dict[str, dict[str, str]]]


@pytest.fixture(scope="module", params=ENGINES)
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, Credentials]]:
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with private_database(request.param, folder) as url:
        engine = create_db_engine(url)
        build_world(engine)
        engine.dispose()
        app = create_app(
            Settings(
                environment="test",
                database_url=url,
                data_dir=folder / "data",
                secret_key="fuzz-secret-key-long-enough-for-tests",
                login_limit_per_account=UNLIMITED,
                login_limit_per_address=UNLIMITED,
                login_slowdown_after=UNLIMITED,
                invite_limit_per_code=UNLIMITED,
                invite_limit_per_address=UNLIMITED,
            )
        )
        credentials = {}
        for role, login_name in ROLES.items():
            with TestClient(app) as client:
                if login_name:
                    login(client, login_name)
                credentials[role] = {
                    "headers": dict(client.headers),
                    "cookies": dict(client.cookies),
                }
        yield app, credentials
        app.state.engine.dispose()


@pytest.mark.parametrize("role", list(ROLES))
def test_api_conforms_and_never_fails(role: str, fuzz_app: tuple[FastAPI, Credentials]) -> None:
    app, all_credentials = fuzz_app
    credentials = all_credentials[role]
    csrf = {k: v for k, v in credentials["headers"].items() if k.lower() == "x-csrf-token"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        if operation.path == "/api/v1/auth/logout":
            continue  # would end the session the other examples use; it has its own tests

        @given(case=operation.as_strategy())
        @settings(
            max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=csrf,
                cookies=credentials["cookies"],
                checks=[not_a_server_error, response_schema_conformance],
                timeout=60,  # a shared CI machine hashing passwords can be slow
            )

        try:
            check()
        except Exception as error:
            error.add_note(f"as {role}: {operation.method.upper()} {operation.path}")
            raise


def test_the_schema_is_served(tmp_path: Path) -> None:
    app = create_app(Settings(environment="test", data_dir=tmp_path))
    with TestClient(app) as client:
        assert client.get("/openapi.json").json()["paths"]
