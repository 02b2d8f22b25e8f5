"""Staff accounts: invite, list, send a new link, deactivate.

A staff member is invited by email and redeems a one-time link exactly as a patient redeems
an invite code (on /join or POST /api/v1/auth/invite), choosing their own passphrase: no one
else ever knows it. A forgotten passphrase gets a new link the same way. Every change is
audited in the staff member's clinic.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from app import mail
from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.passwords import verify_password
from app.clinics.models import STAFF_ROLES, Clinic, Role, User
from app.config import Settings
from app.errors import Forbidden, InvalidInput, NotFound


class StaffState(StrEnum):
    active = "active"  # has chosen a passphrase
    invited = "invited"  # an open link, no passphrase yet
    link_expired = "link_expired"  # invited, but the link lapsed unused
    deactivated = "deactivated"


@dataclass(frozen=True)
class StaffMember:
    user: User
    clinic: Clinic
    state: StaffState


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link, shown once (and emailed when SMTP is set)."""

    user: User
    url: str
    emailed: bool
    # Why the email could not be sent (SMTP set but refused or unreachable); the link still
    # works and is shown, so whoever issued it can pass it on another way.
    email_error: str = ""


def invite_staff(
    session: Session,
    *,
    clinic: Clinic,
    email: str,
    role: Role,
    display_name: str = "",
    actor: User | None,
    settings: Settings,
    site_url: str,
) -> IssuedLink:
    """Create a staff account without a passphrase and return its one-time link."""
    login = auth_service.normalise_login(email)
    if "@" not in login or len(login) > 254 or any(c.isspace() for c in login):
        raise InvalidInput("Give an email address, like name@clinic.nhs.uk.", field="email")
    if role not in STAFF_ROLES:
        raise InvalidInput("Choose admin, clinician or facilitator.", field="role")
    existing = session.exec(select(User).where(User.login == login)).first()
    if existing is not None:
        if existing.clinic_id == clinic.id:
            raise InvalidInput(
                f"{login} already has an account here: send a new link instead "
                f"(`tend staff reset {login}`, or 'New link' on the staff page).",
                field="email",
            )
        raise InvalidInput(f"{login} already has an account in another clinic.", field="email")
    assert clinic.id is not None
    user = User(
        clinic_id=clinic.id,
        login=login,
        role=role,
        display_name=display_name.strip() or login.split("@")[0],
        password_hash=None,
    )
    session.add(user)
    session.flush()
    link = _issue_link(session, user=user, actor=actor, settings=settings, site_url=site_url)
    _audit(session, actor, user, "staff_invited", role=role.value, emailed=link.emailed)
    return link


def reset_staff(
    session: Session, *, user: User, actor: User | None, settings: Settings, site_url: str
) -> IssuedLink:
    """A new one-time link for a staff member (their older links stop working)."""
    if not user.is_active:
        raise InvalidInput(
            f"{user.login} is deactivated: a new link would not let them in.", field="email"
        )
    link = _issue_link(session, user=user, actor=actor, settings=settings, site_url=site_url)
    _audit(session, actor, user, "staff_link_reset", emailed=link.emailed)
    return link


def deactivate_staff(session: Session, *, user: User, actor: User | None) -> None:
    """Stop a staff account: it cannot sign in, its sessions end and its links stop working."""
    if actor is not None and actor.id == user.id:
        raise Forbidden("You cannot deactivate your own account: ask another admin.")
    user.is_active = False
    session.add(user)
    auth_service.end_all_sessions(session, user=user)
    auth_service.revoke_invites(session, patient=user)
    _audit(session, actor, user, "staff_deactivated")


def change_passphrase(session: Session, *, user: User, current: str, new: str) -> None:
    """Change one's own passphrase (the current one is required); every session ends."""
    if not verify_password(user.password_hash, current):
        raise InvalidInput("That is not your current passphrase.", field="current_password")
    try:
        auth_service.set_password(session, user=user, password=new)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="new_password") from error
    _audit(session, user, user, "passphrase_changed")


def find_staff(session: Session, *, email: str, clinic_id: int | None = None) -> User:
    """The staff account with this email (in this clinic, when one is given)."""
    query = select(User).where(
        User.login == auth_service.normalise_login(email), col(User.role).in_(STAFF_ROLES)
    )
    if clinic_id is not None:
        query = query.where(User.clinic_id == clinic_id)
    user = session.exec(query).first()
    if user is None:
        raise NotFound(f"No staff account {email.strip()!r}.", field="email")
    return user


def list_staff(session: Session, *, clinic_id: int | None = None) -> list[StaffMember]:
    """Staff accounts with their state, by clinic then email (one clinic's, when given)."""
    query = (
        select(User, Clinic)
        .join(Clinic, col(Clinic.id) == User.clinic_id)
        .where(col(User.role).in_(STAFF_ROLES))
        .order_by(col(Clinic.slug), col(User.login))
    )
    if clinic_id is not None:
        query = query.where(User.clinic_id == clinic_id)
    rows = session.exec(query).all()
    states = auth_service.invite_states(session, user_ids=[u.id for u, _ in rows if u.id])
    return [
        StaffMember(user, clinic, _state(user, states.get(user.id or 0))) for user, clinic in rows
    ]


def request_reset_by_email(
    session: Session, *, email: str, settings: Settings, site_url: str
) -> None:
    """Email a new link to an active staff account with this address; silent otherwise, so
    the answer never says whether an account exists."""
    try:
        user = find_staff(session, email=email)
    except NotFound:
        return
    if user.is_active:
        link = _issue_link(session, user=user, actor=None, settings=settings, site_url=site_url)
        _audit(session, None, user, "staff_link_requested", emailed=link.emailed)


def _state(user: User, invite_state: str | None) -> StaffState:
    if not user.is_active:
        return StaffState.deactivated
    if user.password_hash is not None:
        return StaffState.active
    return StaffState.invited if invite_state == "open" else StaffState.link_expired


def _issue_link(
    session: Session, *, user: User, actor: User | None, settings: Settings, site_url: str
) -> IssuedLink:
    code = auth_service.invite_user(
        session,
        user=user,
        issued_by=actor,
        valid_for=timedelta(hours=settings.staff_invite_valid_hours),
    )
    url = auth_service.invite_link(site_url, code)
    if not mail.is_configured(settings):
        return IssuedLink(user, url, emailed=False)
    try:
        _email_link(settings, user=user, url=url)
    except mail.MailError as error:
        return IssuedLink(user, url, emailed=False, email_error=str(error))
    return IssuedLink(user, url, emailed=True)


def _email_link(settings: Settings, *, user: User, url: str) -> None:
    hours = settings.staff_invite_valid_hours
    body = (
        f"Hello {user.display_name},\n\n"
        f"Open this link to choose your Tend passphrase. It works once, for {hours} hours:\n\n"
        f"{url}\n\n"
        "If you did not expect this email, you can ignore it: nothing changes until the link "
        "is used.\n"
    )
    mail.send_email(settings, to=[user.login], subject="Your Tend account", body=body)


def _audit(session: Session, actor: User | None, user: User, action: str, **detail: object) -> None:
    audit.record(
        session,
        action=action,
        actor=actor,
        clinic_id=user.clinic_id,
        object_type="user",
        object_id=user.id,
        **detail,
    )
