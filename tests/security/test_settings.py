"""The secret key is required unless the environment is explicitly development or test."""

import pytest
from pydantic import ValidationError

from app.config import DEVELOPMENT_SECRET, Settings


def test_an_unset_environment_is_production_and_needs_a_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEND_ENVIRONMENT", raising=False)
    monkeypatch.delenv("TEND_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="TEND_SECRET_KEY"):
        Settings()
    with pytest.raises(ValidationError, match="TEND_SECRET_KEY"):
        Settings(secret_key=DEVELOPMENT_SECRET)
    assert Settings(secret_key="x" * 48).environment == "production"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_run_without_one(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEND_ENVIRONMENT", environment)
    monkeypatch.delenv("TEND_SECRET_KEY", raising=False)
    assert Settings().secret_key == DEVELOPMENT_SECRET
