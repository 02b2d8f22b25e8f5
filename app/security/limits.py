"""Which limits apply to signing in, redeeming an invite and exporting (from Settings)."""

from app.config import Settings
from app.security.service import Limit


def sign_in_limits(settings: Settings, *, login: str, address: str) -> list[Limit]:
    """Per account (the login as typed, normalised) and per address."""
    seconds = settings.login_limit_seconds
    return [
        Limit("login", "account", login.strip().lower(), settings.login_limit_per_account, seconds),
        Limit("login", "address", address, settings.login_limit_per_address, seconds),
    ]


def invite_limits(settings: Settings, *, code: str, address: str) -> list[Limit]:
    """Per code (the account it would open) and per address."""
    seconds = settings.invite_limit_seconds
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return [
        Limit("invite", "account", cleaned, settings.invite_limit_per_code, seconds),
        Limit("invite", "address", address, settings.invite_limit_per_address, seconds),
    ]


def export_limits(settings: Settings, *, user_id: int, address: str) -> list[Limit]:
    """Per staff account and per address."""
    seconds = settings.export_limit_seconds
    return [
        Limit("export", "account", str(user_id), settings.export_limit_per_account, seconds),
        Limit("export", "address", address, settings.export_limit_per_address, seconds),
    ]
