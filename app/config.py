"""Every setting Tend reads from the environment lives here (prefix ``TEND_``)."""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.clock import FIXED_NOW_VARIABLE

DEVELOPMENT_SECRET = "development-only-secret-change-me"
DEFAULT_DEMO_PASSWORD = "tend-demo-2026"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEND_", extra="ignore")

    # Production unless said otherwise: a forgotten setting must not run with a known secret.
    environment: Literal["development", "test", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = DEVELOPMENT_SECRET
    demo_password: str = DEFAULT_DEMO_PASSWORD
    # A patient's phone is personal: stay signed in for months. Staff machines are shared.
    patient_session_days: int = 120
    staff_idle_minutes: int = 30
    staff_session_hours: int = 12
    invite_valid_days: int = 14
    # A staff invite or reset link grants an account in a clinic: short-lived.
    staff_invite_valid_hours: int = 72
    # The address people reach Tend at (https://tend.example.nhs.uk), for links printed by the
    # command line and sent by email; pages use the address they were reached at.
    public_url: str = ""
    # Where `tend backup` files go; `tend doctor` checks the newest is recent.
    backup_dir: Path | None = None
    clinic_timezone: str = "Europe/London"
    programmes_dir: Path = PROJECT_ROOT / "audio" / "programmes"
    # Reminders: the scheduler runs inside the app (embedded default) unless turned off, e.g.
    # when `tend reminders run` runs as its own process. Never in tests.
    reminders_in_process: bool = True
    reminders_interval_seconds: int = 60
    # The VAPID private key (PEM) from a file only the app's user can read; without it the
    # key is made once and kept in the database (docs/deploy.md says which is safer).
    vapid_private_key_file: Path | None = None
    # VAPID "sub" claim: how a push service can reach whoever runs this Tend.
    push_contact: str = "mailto:reminders@tend.invalid"
    # Only for tests against a stand-in push service: accept any endpoint, plain http too.
    push_allow_test_endpoints: bool = False
    # Rate limits: attempts per window, per account and per address (docs/security.md).
    # Sign-in: refused per account *from one address* (or one remembered browser), so a
    # stranger cannot lock anyone else out; account-wide, attempts past the slowdown are
    # only delayed, except from a browser that signed in to the account before.
    login_limit_per_account: int = 10
    login_limit_per_address: int = 50
    login_limit_seconds: int = 900
    login_slowdown_after: int = 10
    login_slowdown_seconds: float = 2.0
    invite_limit_per_code: int = 5
    invite_limit_per_address: int = 20
    invite_limit_seconds: int = 900
    export_limit_per_account: int = 30
    export_limit_per_address: int = 60
    export_limit_seconds: int = 3600
    # Staff emails (app/mail.py): smtp://user:pass@host:587?from=address, always STARTTLS; unset,
    # no email is sent. A CA file trusts a clinic's own relay certificate too.
    smtp_url: str = ""
    smtp_ca_file: Path | None = None
    # Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = "127.0.0.1"

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        if self.environment not in ("development", "test") and self.secret_key in (
            "",
            DEVELOPMENT_SECRET,
        ):
            raise ValueError(
                "TEND_SECRET_KEY must be set to a long random value (for example the output "
                "of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`), or "
                "TEND_ENVIRONMENT=development for a development machine"
            )
        return self

    @model_validator(mode="after")
    def _refuse_a_fixed_clock_in_production(self) -> "Settings":
        # TEND_NOW fixes app.clock for tests' child processes; never for a real clinic.
        if self.environment == "production" and os.environ.get(FIXED_NOW_VARIABLE):
            raise ValueError(f"{FIXED_NOW_VARIABLE} fixes the clock and is for tests only")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tend.db'}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def site_url(self) -> str:
        """Where people reach Tend: the public URL, or the address it serves on."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def runs_reminders_in_process(self) -> bool:
        return self.reminders_in_process and self.environment != "test"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
