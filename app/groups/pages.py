"""Staff pages: the groups one may see, and a group's practice this week."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit import service as audit
from app.auth.dependencies import StaffUser
from app.clinics import service as clinics_service
from app.db import SessionDep
from app.groups import service as groups_service
from app.groups.dependencies import VisibleGroup
from app.outcomes import service as outcomes_service
from app.practice import service as practice_service
from app.web.templating import render

router = APIRouter(tags=["pages"])


@router.get("/groups")
def groups_page(request: Request, user: StaffUser, session: SessionDep) -> Response:
    groups = groups_service.visible_groups(session, viewer=user)
    flags = outcomes_service.open_safety_flags(session, viewer=user)
    return render(request, "groups/list.html", {"groups": groups, "flags": flags})


@router.get("/groups/{code}")
def group_page(
    request: Request, group: VisibleGroup, user: StaffUser, session: SessionDep
) -> Response:
    """Who is practising this week: days, minutes and each patient's last practice."""
    today = clinics_service.today_at(clinics_service.get_clinic(session, group.clinic_id))
    week = groups_service.programme_week_on(group, today)
    first = groups_service.week_start(group, max(week, 1))
    last = min(first + timedelta(days=6), today)
    enrolments = groups_service.enrolments(session, group=group)
    practice = practice_service.practice_between(
        session,
        enrolment_ids=[e.id for e in enrolments if e.id is not None],
        first=first,
        last=last,
    )
    audit.record(
        session,
        action="view_group_practice",
        actor=user,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
    )
    rows = [(enrolment, practice[enrolment.id or 0]) for enrolment in enrolments]
    context = {
        "group": group,
        "week": week,
        "first": first,
        "last": last,
        "rows": rows,
        "today": today,
        "flags": outcomes_service.open_safety_flags(session, viewer=user),
    }
    return render(request, "groups/detail.html", context)
