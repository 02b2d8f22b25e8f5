"""Loaders for routes: the signed-in patient's context, a group the caller may see."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from app.auth.dependencies import PatientUser, StaffUser
from app.clinics import service as clinics_service
from app.clinics.models import User
from app.db import open_lookup_session
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group


@dataclass(frozen=True)
class PatientContext:
    """A signed-in patient with their enrolment, group and the clinic's today."""

    user: User
    enrolment: Enrolment
    group: Group
    today: date


# Loaders read in their own short transaction and return detached rows, like
# get_current_user: a write request's transaction (and SQLite's write lock) should begin
# only when the route starts its own work.


def get_patient_context(request: Request, user: PatientUser) -> PatientContext:
    """The signed-in patient's active enrolment and group."""
    with open_lookup_session(request.app.state.engine) as session:
        enrolment, group, clinic = groups_service.placement_of(session, patient=user)
    return PatientContext(
        user=user, enrolment=enrolment, group=group, today=clinics_service.today_at(clinic)
    )


def get_visible_group(request: Request, code: str, user: StaffUser) -> Group:
    """The group named in the path, if the signed-in staff member may see it."""
    with open_lookup_session(request.app.state.engine) as session:
        return groups_service.get_group_for_staff(session, code=code, viewer=user)


Patient = Annotated[PatientContext, Depends(get_patient_context)]
VisibleGroup = Annotated[Group, Depends(get_visible_group)]
