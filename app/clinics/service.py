"""Clinics: creating and finding them, and their local calendar."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, available_timezones

from sqlmodel import Session, col, select

from app import clock
from app.clinics.models import Clinic, Role, User
from app.errors import InvalidInput, NotFound
from app.i18n import N_, SUPPORTED_LANGUAGES


def create_clinic(
    session: Session, *, name: str, timezone: str = "Europe/London", language: str = "en"
) -> Clinic:
    """A new clinic; its code (slug) comes from its name, made unique."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the clinic a name.", field="name")
    if timezone not in available_timezones():
        raise InvalidInput(
            f"{timezone!r} is not a time zone: use an IANA name such as Europe/London.",
            field="timezone",
        )
    if language not in SUPPORTED_LANGUAGES:
        offered = ", ".join(SUPPORTED_LANGUAGES)
        raise InvalidInput(f"{language!r} is not a language Tend has: {offered}.", field="language")
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56] or "clinic"
    slug, number = base, 1
    while get_clinic_by_slug(session, slug) is not None:
        number += 1
        slug = f"{base}-{number}"
    clinic = Clinic(slug=slug, name=name, timezone=timezone, default_language=language)
    session.add(clinic)
    session.flush()
    return clinic


def get_clinic(session: Session, clinic_id: int) -> Clinic:
    """The clinic with this id."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound("No such clinic.")
    return clinic


def get_clinic_by_slug(session: Session, slug: str) -> Clinic | None:
    """The clinic with this slug, if any."""
    return session.exec(select(Clinic).where(Clinic.slug == slug)).first()


def today_at(clinic: Clinic, *, now: datetime | None = None) -> date:
    """Today's date where the clinic is (weeks open by the clinic's calendar)."""
    return (now or clock.now()).astimezone(ZoneInfo(clinic.timezone)).date()


def add_staff(
    session: Session,
    *,
    clinic: Clinic,
    email: str,
    role: Role,
    display_name: str,
    password_hash: str,
) -> User:
    """Create a staff account that signs in with its email."""
    assert clinic.id is not None
    user = User(
        clinic_id=clinic.id,
        login=email.strip().lower(),
        role=role,
        display_name=display_name,
        password_hash=password_hash,
    )
    session.add(user)
    session.flush()
    return user


def list_staff(session: Session, *, clinic_id: int, role: Role) -> list[User]:
    """The clinic's active staff with this role, by name."""
    return list(
        session.exec(
            select(User)
            .where(User.clinic_id == clinic_id, User.role == role, User.is_active)
            .order_by(User.display_name)
        ).all()
    )


def set_language(session: Session, *, user_id: int, language: str) -> None:
    """Set the language a person sees Tend in; "" goes back to their clinic's default."""
    if language and language not in SUPPORTED_LANGUAGES:
        raise InvalidInput(N_("Choose one of the languages listed."), field="language")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    user.language = language or None
    session.add(user)


def language_of(session: Session, *, user_id: int) -> str | None:
    """The language chosen for someone reached outside a request (a reminder, an email): their
    own, else their clinic's default; None when neither is set (English)."""
    found = session.exec(
        select(User.language, Clinic.default_language)
        .join(Clinic, col(Clinic.id) == User.clinic_id)
        .where(User.id == user_id)
    ).first()
    return (found[0] or found[1]) if found else None
