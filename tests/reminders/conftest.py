"""Reminder tests accept plain-http push endpoints: the stand-in push service is on 127.0.0.1."""

from pathlib import Path

import pytest

from app.config import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-that-is-long-enough",
        push_allow_test_endpoints=True,
        push_contact="mailto:reminders@clinic.example",
    )
