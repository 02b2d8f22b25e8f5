"""Signing in and out, server-side sessions, and single-use invite codes (patients, staff)."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, bindparam
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select, update

from app.audit import service as audit
from app.auth.models import AuthSession, Invite
from app.auth.passwords import MIN_PASSPHRASE_LENGTH, hash_password, verify_password
from app.clinics.models import Clinic, Role, User
from app.config import Settings
from app.db import utcnow
from app.errors import InvalidInput
from app.groups.models import Enrolment, EnrolmentStatus, Group
from app.i18n import N_

# Crockford's base32 without look-alikes (no I, L, O, U): easy to read out and type on a phone.
_INVITE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_INVITE_LENGTH = 12
# Writing last_seen_at on every request would turn reads into writes; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def authenticate(session: Session, *, login: str, password: str) -> User | None:
    """The active user with this login and password, or None (without saying which was wrong)."""
    login = normalise_login(login)
    # No login holds a NUL, and PostgreSQL refuses one in a query: treat it as unknown.
    user = (
        None if "\x00" in login else session.exec(select(User).where(User.login == login)).first()
    )
    valid = verify_password(user.password_hash if user else None, password)
    return user if user and valid and user.is_active else None


def record_failed_sign_in(
    session: Session, *, login: str, address: str, settings: Settings
) -> None:
    """Audit a failed sign-in where the clinic's admin sees it: the login as a keyed hash
    (never in clear: it may be a password typed in the wrong box), the address, and the
    clinic of the account it names, if any."""
    normalised = normalise_login(login)
    account = (
        None
        if "\x00" in normalised
        else session.exec(select(User).where(User.login == normalised)).first()
    )
    digest = hmac.new(settings.secret_key.encode(), normalised.encode(), hashlib.sha256)
    audit.record(
        session,
        action="sign_in_failed",
        actor=None,
        clinic_id=account.clinic_id if account else None,
        login_hash=digest.hexdigest()[:16],
        address=address,
        known_account=account is not None,
    )


def normalise_login(login: str) -> str:
    """Emails are matched without case; participant codes are upper case."""
    login = login.strip()
    return login.lower() if "@" in login else login.upper()


def start_session(session: Session, *, user: User, settings: Settings) -> str:
    """Create a server-side session for ``user`` and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    lifetime = (
        timedelta(days=settings.patient_session_days)
        if user.role == Role.patient
        else timedelta(hours=settings.staff_session_hours)
    )
    assert user.id is not None
    session.add(
        AuthSession(token_hash=_sha256(token), user_id=user.id, expires_at=utcnow() + lifetime)
    )
    return token


class SignedIn(NamedTuple):
    """Who is behind a live session token."""

    user: User
    # A patient's active enrolment with its group and clinic, found in the same query.
    placement: tuple[Enrolment, Group, Clinic] | None
    # Whether the session's last use should be written (``touch_session``).
    stale: bool
    # The language their own clinic speaks by default (None: follow the browser).
    clinic_language: str | None

    @property
    def language(self) -> str | None:
        """The interface language chosen for them: their own, else their clinic's."""
        return self.user.language or self.clinic_language


# Built once: composing the statement costs more than running it, on every signed-in request.
_HOME_CLINIC = aliased(Clinic)
_SIGNED_IN = (
    sql_select(AuthSession, User, Enrolment, Group, Clinic, col(_HOME_CLINIC.default_language))
    .join(User, col(User.id) == AuthSession.user_id)
    .join(_HOME_CLINIC, col(_HOME_CLINIC.id) == User.clinic_id)
    .outerjoin(
        Enrolment,
        and_(
            col(Enrolment.user_id) == User.id,
            col(Enrolment.status) == EnrolmentStatus.active,
            col(User.role) == Role.patient,
        ),
    )
    .outerjoin(Group, col(Group.id) == Enrolment.group_id)
    .outerjoin(Clinic, col(Clinic.id) == Group.clinic_id)
    .where(col(AuthSession.token_hash) == bindparam("token_hash"))
)


def resolve_session_for_read(
    session: Session, *, token: str, settings: Settings
) -> SignedIn | None:
    """The user behind a live session token (one query, with a patient's placement).

    Reads must not write in their own transaction: on SQLite, upgrading a read transaction to
    a write fails at once ("database is locked") when another request wrote meanwhile, so
    the caller touches the session (``touch_session``) in a separate short write instead.
    """
    found = session.execute(_SIGNED_IN, {"token_hash": _sha256(token)}).first()
    if found is None:
        return None
    auth_session, user, enrolment, group, clinic, clinic_language = found
    now = utcnow()
    if not _is_live(auth_session, user, now=now, settings=settings):
        return None
    placement = (enrolment, group, clinic) if enrolment and group and clinic else None
    stale = now - auth_session.last_seen_at > _TOUCH_EVERY
    return SignedIn(user, placement, stale, clinic_language)


def touch_session(session: Session, *, token: str) -> None:
    """Record that the session was used now (at most once a minute)."""
    now = utcnow()
    session.exec(
        update(AuthSession)
        .where(
            col(AuthSession.token_hash) == _sha256(token),
            col(AuthSession.last_seen_at) < now - _TOUCH_EVERY,
        )
        .values(last_seen_at=now)
    )


def _is_live(auth_session: AuthSession, user: User, *, now: datetime, settings: Settings) -> bool:
    if auth_session.revoked_at is not None or auth_session.expires_at <= now or not user.is_active:
        return False
    idle_limit = timedelta(minutes=settings.staff_idle_minutes)
    return user.role == Role.patient or now - auth_session.last_seen_at <= idle_limit


def end_session(session: Session, *, token: str) -> None:
    """Revoke the session behind ``token`` (logout)."""
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.token_hash) == _sha256(token))
        .values(revoked_at=utcnow())
    )


def end_all_sessions(session: Session, *, user: User) -> int:
    """Sign ``user`` out on every device: password change, withdrawal, a new invite, a staff
    "sign out everywhere", a deactivated account. Returns how many sessions were live.

    The one way to end someone's sessions: callers record the audit event in their domain.
    """
    result = session.exec(
        update(AuthSession)
        .where(
            col(AuthSession.user_id) == user.id,
            col(AuthSession.revoked_at).is_(None),
            col(AuthSession.expires_at) > utcnow(),
        )
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


def set_password(session: Session, *, user: User, password: str) -> None:
    """Set a new password or passphrase and sign the user out everywhere else."""
    if len(password) < MIN_PASSPHRASE_LENGTH:
        raise InvalidInput(
            f"Choose at least {MIN_PASSPHRASE_LENGTH} characters: a few words you will remember.",
            field="password",
        )
    end_all_sessions(session, user=user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.add(user)


def issue_invite(session: Session, *, patient: User, issued_by: User, settings: Settings) -> str:
    """Revoke the patient's open invites and return a new single-use code."""
    return invite_user(
        session,
        user=patient,
        issued_by=issued_by,
        valid_for=timedelta(days=settings.invite_valid_days),
    )


def invite_user(
    session: Session, *, user: User, issued_by: User | None, valid_for: timedelta
) -> str:
    """Revoke the user's open invites and return a new single-use code (patients and staff
    redeem theirs the same way; ``issued_by`` is None when given from the command line)."""
    revoke_invites(session, patient=user)
    code = "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(_INVITE_LENGTH))
    assert user.id is not None
    session.add(
        Invite(
            user_id=user.id,
            code_hash=_sha256(code),
            created_by_id=issued_by.id if issued_by else None,
            expires_at=utcnow() + valid_for,
        )
    )
    return format_invite_code(code)


def invite_link(site_url: str, code: str) -> str:
    """The link that opens /join with ``code`` filled in. The code rides in the fragment, which
    browsers never send, so it stays out of the server's and proxies' access logs."""
    return f"{site_url.rstrip('/')}/join#code={code}"


def format_invite_code(code: str) -> str:
    """Group a code in fours so it can be read out: ``ABCD-EFGH-JKMN``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _normalise_invite_code(code: str) -> str:
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OIL", "011"))


def invitee(session: Session, *, code: str) -> User:
    """Whose open invite this code is, without using it (the join page's first step)."""
    user = session.get(User, _open_invite(session, code=code).user_id)
    assert user is not None
    return user


def _open_invite(session: Session, *, code: str) -> Invite:
    """The unused, unexpired invite with this code, or InvalidInput naming the code field."""
    invite = session.exec(
        select(Invite)
        .where(Invite.code_hash == _sha256(_normalise_invite_code(code)))
        .with_for_update()
    ).first()
    now = utcnow()
    user = session.get(User, invite.user_id) if invite is not None else None
    if invite is None or user is None or invite.revoked_at is not None or not user.is_active:
        raise InvalidInput(
            N_("That code was not recognised. Check it, or ask your facilitator."), field="code"
        )
    ask = (
        "Ask your facilitator for a new one."
        if user.role == Role.patient
        else "Ask your clinic's admin for a new link."
    )
    if invite.used_at is not None:
        raise InvalidInput(f"That code has already been used. {ask}", field="code")
    if invite.expires_at <= now:
        raise InvalidInput(f"That code has expired. {ask}", field="code")
    return invite


def redeem_invite(session: Session, *, code: str, passphrase: str) -> User:
    """Use an invite code once to set the passphrase; returns whose it was."""
    invite = _open_invite(session, code=code)
    user = session.get(User, invite.user_id)
    assert user is not None
    set_password(session, user=user, password=passphrase)
    invite.used_at = utcnow()
    session.add(invite)
    return user


def revoke_invites(session: Session, *, patient: User) -> int:
    """Revoke the patient's open invites; returns how many were open."""
    result = session.exec(
        update(Invite)
        .where(
            col(Invite.user_id) == patient.id,
            col(Invite.used_at).is_(None),
            col(Invite.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


def invite_states(session: Session, *, user_ids: list[int]) -> dict[int, str]:
    """Per patient: ``used``, ``open`` (unused, unexpired), ``expired``, ``revoked`` or ``none``."""
    if not user_ids:
        return {}
    invites = session.exec(
        select(Invite).where(col(Invite.user_id).in_(user_ids)).order_by(col(Invite.created_at))
    ).all()
    now = utcnow()
    states = dict.fromkeys(user_ids, "none")
    for invite in invites:  # oldest first: the newest invite decides, a used one always wins
        if states[invite.user_id] == "used":
            continue
        if invite.used_at is not None:
            states[invite.user_id] = "used"
        elif invite.revoked_at is not None:
            states[invite.user_id] = "revoked"
        elif invite.expires_at <= now:
            states[invite.user_id] = "expired"
        else:
            states[invite.user_id] = "open"
    return states
