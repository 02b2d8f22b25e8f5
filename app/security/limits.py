"""Which limits apply to signing in, redeeming an invite and exporting (from Settings)."""

from app.auth.service import normalise_login
from app.config import Settings
from app.security.service import Limit


def sign_in_limits(
    settings: Settings, *, login: str, address: str, device: str | None = None
) -> list[Limit]:
    """Refusing limits: per account from this address (or from this remembered browser,
    which is then exempt from its address's limit too), and per address."""
    seconds = settings.login_limit_seconds
    account = normalise_login(login)
    per_account = settings.login_limit_per_account
    if device is not None:
        return [Limit("login", "account_device", f"{account}\x00{device}", per_account, seconds)]
    return [
        Limit("login", "account_address", f"{account}\x00{address}", per_account, seconds),
        Limit("login", "address", address, settings.login_limit_per_address, seconds),
    ]


def sign_in_slowdown(settings: Settings, *, login: str) -> Limit:
    """Account-wide: past it, attempts are delayed, never refused (nobody can lock it)."""
    account = normalise_login(login)
    return Limit(
        "login", "account", account, settings.login_slowdown_after, settings.login_limit_seconds
    )


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
