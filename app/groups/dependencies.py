"""Loaders for routes: the signed-in patient's context, a group the caller may see."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from app.auth.dependencies import CurrentUser, StaffUser, patient_only
from app.clinics import service as clinics_service
from app.clinics.models import User
from app.db import open_lookup_session
from app.errors import Forbidden
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group


@dataclass(frozen=True)
class PatientContext:
    """A signed-in patient with their enrolment, group and the clinic's today."""

    user: User
    enrolment: Enrolment
    group: Group
    today: date


async def get_patient_context(request: Request, user: CurrentUser) -> PatientContext:
    """The signed-in patient's active enrolment and group, found when they were signed in
    (get_current_user looks both up at once); async because it does no I/O of its own, and
    guarding on its own because every patient request pays for each level of loaders."""
    patient_only(user)
    placement = getattr(request.state, "placement", None)
    if placement is None:
        raise Forbidden(groups_service.NOT_IN_A_GROUP)
    enrolment, group, clinic = placement
    return PatientContext(
        user=user, enrolment=enrolment, group=group, today=clinics_service.today_at(clinic)
    )


def get_visible_group(request: Request, code: str, user: StaffUser) -> Group:
    """The group named in the path, if the signed-in staff member may see it (looked up in a
    short session of its own, like the caller: the request's transaction begins with the
    route's own work)."""
    with open_lookup_session(request.app.state.engine) as session:
        return groups_service.get_group_for_staff(session, code=code, viewer=user)


Patient = Annotated[PatientContext, Depends(get_patient_context)]
VisibleGroup = Annotated[Group, Depends(get_visible_group)]
