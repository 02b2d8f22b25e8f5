"""Staff pages for running a group: set-up, register, engagement board, patient detail,
invite sheet and session prep. Thin: every decision lives in the services."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.dependencies import StaffUser
from app.clinics import service as clinics_service
from app.clinics.models import Role, User
from app.consent import service as consent_service
from app.db import SessionDep
from app.errors import InvalidInput, NotFound
from app.groups import engagement
from app.groups import service as groups_service
from app.groups.dependencies import VisibleGroup
from app.groups.models import EnrolmentStatus, Group
from app.outcomes import safety as safety_flags
from app.programme import service as programme_service
from app.reminders import service as reminders_service
from app.rights import service as rights_service
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
CsrfChecked = [Depends(verify_csrf_form)]


def _reminders_on(session: Session, group: Group) -> dict[int, bool]:
    """Who has reminders on (chosen, not paused, a device subscribed): enrolment id -> bool."""
    ids = [e.id or 0 for e in groups_service.enrolments(session, group=group)]
    on = reminders_service.reminders_on(session, enrolment_ids=ids)
    return {enrolment_id: enrolment_id in on for enrolment_id in ids}


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _errors(error: InvalidInput) -> dict[str, str]:
    return {error.field or "form": error.message}


def _attempt(session: Session, action: Callable[[], Any]) -> tuple[Any, dict[str, str]]:
    """Run a change in a savepoint, so a refused form changes nothing; returns (result, errors)."""
    try:
        with session.begin_nested():
            return action(), {}
    except InvalidInput as error:
        return None, _errors(error)


def _zone(session: Session, group: Group) -> ZoneInfo:
    return ZoneInfo(clinics_service.get_clinic(session, group.clinic_id).timezone)


def _local_datetime(value: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone)
    except ValueError as error:
        raise InvalidInput("Give a date and time, like 2026-03-03 10:30.", field=field) from error


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput("Give a date, like 2026-03-03.", field=field) from error


@router.get("/groups")
def groups_page(request: Request, user: StaffUser, session: SessionDep) -> Response:
    groups = groups_service.visible_groups(session, viewer=user)
    flags = safety_flags.open_safety_flags(session, viewer=user)
    return render(request, "groups/list.html", {"groups": groups, "flags": flags})


# --- Starting a group ---


def _new_group_context(
    session: Session,
    user: User,
    form: dict[str, Any],
    errors: dict[str, str],
) -> dict[str, Any]:
    return {
        "programmes": programme_service.list_programmes(session),
        "facilitators": clinics_service.list_staff(
            session, clinic_id=user.clinic_id, role=Role.facilitator
        ),
        "form": form,
        "errors": errors,
    }


@router.get("/groups/new")
def new_group_page(request: Request, user: StaffUser, session: SessionDep) -> Response:
    return render(request, "groups/new.html", _new_group_context(session, user, {}, {}))


@router.post("/groups/new", dependencies=CsrfChecked)
def new_group_submit(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    programme: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    start_date: Annotated[str, Form()] = "",
    first_session: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    facilitators: Annotated[list[int] | None, Form()] = None,
) -> Response:
    chosen_ids = set(facilitators or [])
    form: dict[str, Any] = {
        "facilitators": chosen_ids,
        "programme": programme,
        "code": code,
        "name": name,
        "start_date": start_date,
        "first_session": first_session,
        "place": place,
    }
    zone = ZoneInfo(clinics_service.get_clinic(session, user.clinic_id).timezone)

    def start() -> Group:
        chosen = next(
            (p for p in programme_service.list_programmes(session) if p.key == programme), None
        )
        if chosen is None:
            raise InvalidInput("Choose a programme.", field="programme")
        rule = programme_service.adherence_rule(session, chosen, clinic_id=user.clinic_id)
        staff = clinics_service.list_staff(session, clinic_id=user.clinic_id, role=Role.facilitator)
        if not chosen_ids <= {f.id for f in staff}:
            raise InvalidInput("Choose facilitators from your clinic.", field="facilitators")
        return groups_service.start_group(
            session,
            actor=user,
            programme_id=chosen.id or 0,
            total_weeks=rule.total_weeks,
            code=code,
            name=name,
            start_date=_parse_date(start_date, "start_date"),
            first_session_at=_local_datetime(first_session, zone, "first_session"),
            place=place,
            facilitators=[f for f in staff if f.id in chosen_ids],
        )

    group, errors = _attempt(session, start)
    if errors:
        context = _new_group_context(session, user, form, errors)
        return render(request, "groups/new.html", context, status_code=422)
    return _redirect(f"/groups/{group.code}/manage")


# --- The engagement board ---


@router.get("/groups/{code}")
def group_page(
    request: Request, group: VisibleGroup, user: StaffUser, session: SessionDep
) -> Response:
    """The engagement board: this week by day, the programme by week, and gentle flags."""
    today = engagement.group_today(session, group)
    board = engagement.build_board(session, group=group, today=today)
    engagement.record_board_view(session, actor=user, group=group)
    codes = {row.enrolment.id: row.enrolment.participant_code for row in board.rows}
    context = {
        "group": group,
        "board": board,
        "codes": codes,
        "reminders": _reminders_on(session, group),
        "consent": engagement.consent_states(session, group=group, board=board),
        "safety_flags": safety_flags.open_safety_flags_in(session, group_ids=[group.id or 0]),
        "next_session": groups_service.next_session(session, group=group),
        "programme_key": programme_service.get_programme(session, group.programme_id).key,
    }
    return render(request, "groups/board.html", context)


# --- Managing the group ---


def _manage_context(
    session: Session, group: Group, form: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    members = groups_service.enrolments(session, group=group)
    rule = engagement.rule_for(session, group)
    today = engagement.group_today(session, group)
    overrides = groups_service.week_overrides(session, group=group)
    numbers = range(1, rule.total_weeks + 1)
    is_open = groups_service.open_weeks(group, numbers, today=today, overrides=overrides)
    weeks = [
        {
            "number": n,
            "starts": groups_service.week_start(group, n),
            "override": overrides.get(n),
            "open": is_open[n],
        }
        for n in numbers
    ]
    return {
        "group": group,
        "members": members,
        "contacts": groups_service.contacts(
            session, enrolment_ids=[e.id for e in members if e.id is not None]
        ),
        "invites": groups_service.invite_states(session, enrolments=members),
        "meetings": groups_service.group_sessions(session, group=group),
        "zone": _zone(session, group),
        "weeks": weeks,
        "form": form,
        "errors": errors,
    }


def _record_view(session: Session, user: User, group: Group, action: str) -> None:
    audit.record(
        session,
        action=action,
        actor=user,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
    )


@router.get("/groups/{code}/manage")
def manage_page(
    request: Request, group: VisibleGroup, user: StaffUser, session: SessionDep
) -> Response:
    """Patients (with names and invite state), sessions and week unlocks (audited: names)."""
    _record_view(session, user, group, "view_group_roster")
    return render(request, "groups/manage.html", _manage_context(session, group, {}, {}))


@router.post("/groups/{code}/patients", dependencies=CsrfChecked)
def enrol_submit(
    request: Request,
    group: VisibleGroup,
    user: StaffUser,
    session: SessionDep,
    participant_code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    form = {"participant_code": participant_code, "name": name, "email": email, "phone": phone}
    _, errors = _attempt(
        session,
        lambda: groups_service.enrol(
            session,
            actor=user,
            group=group,
            participant_code=participant_code,
            name=name,
            email=email,
            phone=phone,
        ),
    )
    if errors:
        context = _manage_context(session, group, form, errors)
        return render(request, "groups/manage.html", context, status_code=422)
    return _redirect(f"/groups/{group.code}/manage#patients")


@router.post("/groups/{code}/weeks", dependencies=CsrfChecked)
def week_unlock_submit(
    group: VisibleGroup,
    user: StaffUser,
    session: SessionDep,
    week: Annotated[int, Form()],
    state: Annotated[str, Form()] = "auto",
) -> Response:
    rule = engagement.rule_for(session, group)
    groups_service.set_week_unlock(
        session, actor=user, group=group, number=week, state=state, total_weeks=rule.total_weeks
    )
    return _redirect(f"/groups/{group.code}/manage#weeks")


# --- One meeting: move or cancel it, its register, its prep ---


def _session_context(
    session: Session, group: Group, number: int, form: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    meeting = groups_service.get_group_session(session, group=group, number=number)
    zone = _zone(session, group)
    local = meeting.starts_at.astimezone(zone)
    return {
        "group": group,
        "meeting": meeting,
        "local": local,
        "form": form or {"starts_at": local.strftime("%Y-%m-%dT%H:%M"), "place": meeting.place},
        "errors": errors,
    }


@router.get("/groups/{code}/sessions/{number}")
def session_page(
    request: Request, group: VisibleGroup, number: int, session: SessionDep
) -> Response:
    return render(request, "groups/session.html", _session_context(session, group, number, {}, {}))


@router.post("/groups/{code}/sessions/{number}", dependencies=CsrfChecked)
def session_submit(
    request: Request,
    group: VisibleGroup,
    number: int,
    user: StaffUser,
    session: SessionDep,
    starts_at: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "save",
) -> Response:
    meeting = groups_service.get_group_session(session, group=group, number=number)
    zone = _zone(session, group)
    cancelled = {"cancel": True, "restore": False}.get(action, meeting.cancelled)
    _, errors = _attempt(
        session,
        lambda: groups_service.change_group_session(
            session,
            actor=user,
            group=group,
            meeting=meeting,
            starts_at=_local_datetime(starts_at, zone, "starts_at"),
            place=place,
            cancelled=cancelled,
        ),
    )
    if errors:
        context = _session_context(
            session, group, number, {"starts_at": starts_at, "place": place}, errors
        )
        return render(request, "groups/session.html", context, status_code=422)
    return _redirect(f"/groups/{group.code}/manage#sessions")


def _register_context(
    session: Session, group: Group, number: int, saved: bool, errors: dict[str, str]
) -> dict[str, Any]:
    meeting = groups_service.get_group_session(session, group=group, number=number)
    marked = groups_service.register(session, meeting=meeting)
    members = [
        e
        for e in groups_service.enrolments(session, group=group)
        if e.status == EnrolmentStatus.active or e.id in marked
    ]
    return {
        "group": group,
        "meeting": meeting,
        "local": meeting.starts_at.astimezone(_zone(session, group)),
        "members": members,
        "contacts": groups_service.contacts(
            session, enrolment_ids=[e.id for e in members if e.id is not None]
        ),
        "marked": marked,
        "saved": saved,
        "errors": errors,
    }


@router.get("/groups/{code}/sessions/{number}/register")
def register_page(
    request: Request,
    group: VisibleGroup,
    number: int,
    user: StaffUser,
    session: SessionDep,
    saved: bool = False,
) -> Response:
    context = _register_context(session, group, number, saved, {})
    _record_view(session, user, group, "view_register")
    return render(request, "groups/register.html", context)


@router.post("/groups/{code}/sessions/{number}/register", dependencies=CsrfChecked)
async def register_submit(
    request: Request,
    group: VisibleGroup,
    number: int,
    user: StaffUser,
    session: SessionDep,
) -> Response:
    form = await request.form()
    statuses: dict[int, str] = {}
    for key, value in form.items():
        if key.startswith("attendance-") and key.removeprefix("attendance-").isdigit():
            statuses[int(key.removeprefix("attendance-"))] = str(value)
    meeting = groups_service.get_group_session(session, group=group, number=number)
    _, errors = _attempt(
        session,
        lambda: groups_service.save_register(
            session, actor=user, group=group, meeting=meeting, statuses=statuses
        ),
    )
    if errors:
        context = _register_context(session, group, number, False, errors)
        return render(request, "groups/register.html", context, status_code=422)
    return _redirect(f"/groups/{group.code}/sessions/{number}/register?saved=1")


@router.get("/groups/{code}/prep")
def next_prep_page(group: VisibleGroup, session: SessionDep) -> Response:
    """The digest for the group's next meeting."""
    meeting = groups_service.next_session(session, group=group)
    if meeting is None:
        raise NotFound("This group has no sessions yet.")
    return _redirect(f"/groups/{group.code}/sessions/{meeting.number}/prep")


@router.get("/groups/{code}/sessions/{number}/prep")
def prep_page(
    request: Request, group: VisibleGroup, number: int, user: StaffUser, session: SessionDep
) -> Response:
    """A one-screen digest before a session: practice, ratings, helpful practices, words."""
    meeting = groups_service.get_group_session(session, group=group, number=number)
    prep = engagement.prepare_session(
        session, group=group, meeting=meeting, today=engagement.group_today(session, group)
    )
    audit.record(
        session,
        action="view_session_prep",
        actor=user,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
        session_number=number,
    )
    context = {
        "group": group,
        "prep": prep,
        "local": meeting.starts_at.astimezone(_zone(session, group)),
    }
    return render(request, "groups/prep.html", context)


# --- One patient ---


def _patient_context(
    session: Session,
    group: Group,
    participant_code: str,
    user: User,
    form: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )
    detail = engagement.patient_detail(
        session, group=group, enrolment=enrolment, today=engagement.group_today(session, group)
    )
    audit.record(
        session,
        action="view_patient_detail",
        actor=user,
        clinic_id=group.clinic_id,
        object_type="enrolment",
        object_id=enrolment.id,
        group=group.code,
    )
    return {
        "group": group,
        "detail": detail,
        "enrolment": enrolment,
        "contact": groups_service.contacts(session, enrolment_ids=[enrolment.id or 0]).get(
            enrolment.id or 0
        ),
        "invite": groups_service.invite_states(session, enrolments=[enrolment]).get(
            enrolment.id or 0
        ),
        "other_groups": [
            g for g in groups_service.visible_groups(session, viewer=user) if g.id != group.id
        ],
        "consent": consent_service.statuses(
            session, clinic_id=group.clinic_id, user_ids=[enrolment.user_id]
        )[enrolment.user_id],
        "consent_document": consent_service.current_document(session, clinic_id=group.clinic_id),
        "kept": rights_service.KEPT_WHATEVER_YOU_CHOOSE,
        "erasable": rights_service.ERASED_ON_REQUEST,
        "form": form,
        "errors": errors,
    }


@router.get("/groups/{code}/patients/{participant_code}")
def patient_page(
    request: Request,
    group: VisibleGroup,
    participant_code: str,
    user: StaffUser,
    session: SessionDep,
) -> Response:
    """One patient's practice, ratings over time, attendance and shared words (audited)."""
    context = _patient_context(session, group, participant_code, user, {}, {})
    return render(request, "groups/patient.html", context)


@router.post("/groups/{code}/patients/{participant_code}/withdraw", dependencies=CsrfChecked)
def withdraw_submit(
    request: Request,
    group: VisibleGroup,
    participant_code: str,
    user: StaffUser,
    session: SessionDep,
    reason: Annotated[str, Form()] = "",
    data_choice: Annotated[str, Form()] = "keep",
) -> Response:
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )

    def withdraw() -> None:
        groups_service.withdraw(
            session, actor=user, group=group, enrolment=enrolment, reason=reason
        )
        rights_service.withdraw_on_behalf(
            session, actor=user, enrolment=enrolment, erase=data_choice == "erase"
        )

    _, errors = _attempt(session, withdraw)
    if errors:
        form = {"reason": reason, "data_choice": data_choice}
        context = _patient_context(session, group, participant_code, user, form, errors)
        return render(request, "groups/patient.html", context, status_code=422)
    return _redirect(f"/groups/{group.code}/manage#patients")


@router.post("/groups/{code}/patients/{participant_code}/move", dependencies=CsrfChecked)
def move_submit(
    request: Request,
    group: VisibleGroup,
    participant_code: str,
    user: StaffUser,
    session: SessionDep,
    to_group: Annotated[str, Form()] = "",
    move_reason: Annotated[str, Form()] = "",
) -> Response:
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )

    def move() -> Group:
        try:
            return groups_service.move_enrolment(
                session,
                actor=user,
                group=group,
                enrolment=enrolment,
                to_code=to_group,
                reason=move_reason,
            )
        except InvalidInput as error:
            if error.field == "reason":
                error.field = "move_reason"
            raise

    target, errors = _attempt(session, move)
    if errors:
        form = {"to_group": to_group, "move_reason": move_reason}
        context = _patient_context(session, group, participant_code, user, form, errors)
        return render(request, "groups/patient.html", context, status_code=422)
    return _redirect(f"/groups/{target.code}/manage#patients")


@router.post("/groups/{code}/patients/{participant_code}/revoke-invite", dependencies=CsrfChecked)
def revoke_invite_submit(
    group: VisibleGroup, participant_code: str, user: StaffUser, session: SessionDep
) -> Response:
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )
    groups_service.revoke_invite(session, actor=user, group=group, enrolment=enrolment)
    return _redirect(f"/groups/{group.code}/patients/{enrolment.participant_code}")


@router.post(
    "/groups/{code}/patients/{participant_code}/sign-out-everywhere", dependencies=CsrfChecked
)
def sign_out_everywhere_submit(
    group: VisibleGroup, participant_code: str, user: StaffUser, session: SessionDep
) -> Response:
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )
    groups_service.sign_out_everywhere(session, actor=user, group=group, enrolment=enrolment)
    return _redirect(f"/groups/{group.code}/patients/{enrolment.participant_code}?signed_out=1")


# --- Invite sheet ---


@router.get("/groups/{code}/invites")
def invites_page(
    request: Request, group: VisibleGroup, user: StaffUser, session: SessionDep
) -> Response:
    """Choose whose invite codes to print (new codes replace their older, unused ones)."""
    _record_view(session, user, group, "view_group_roster")
    members = [
        e
        for e in groups_service.enrolments(session, group=group)
        if e.status == EnrolmentStatus.active
    ]
    context = {
        "group": group,
        "members": members,
        "invites": groups_service.invite_states(session, enrolments=members),
        "contacts": groups_service.contacts(
            session, enrolment_ids=[e.id for e in members if e.id is not None]
        ),
    }
    return render(request, "groups/invites.html", context)


def _qr_svg(url: str) -> Markup:
    # segno writes plain SVG (no script, no inline style), so the strict CSP allows it.
    svg = segno.make(url, error="m").svg_inline(scale=5, border=2)
    return Markup(svg)


@router.post("/groups/{code}/invites", dependencies=CsrfChecked)
def invites_submit(
    request: Request,
    group: VisibleGroup,
    user: StaffUser,
    session: SessionDep,
    participants: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Issue fresh codes and show them once, as a printable sheet with QR codes."""
    chosen = {code.upper() for code in participants or []}
    members = [
        e for e in groups_service.enrolments(session, group=group) if e.participant_code in chosen
    ]
    issued = groups_service.issue_invites(
        session,
        actor=user,
        group=group,
        enrolments=members,
        settings=request.app.state.settings,
    )
    base = str(request.base_url).rstrip("/")
    cards = []
    for enrolment, code in issued:
        url = auth_service.invite_link(base, code)
        cards.append({"enrolment": enrolment, "code": code, "url": url, "qr": _qr_svg(url)})
    context = {
        "group": group,
        "cards": cards,
        "valid_days": request.app.state.settings.invite_valid_days,
        "base": base,
    }
    return render(request, "groups/invite_sheet.html", context)
