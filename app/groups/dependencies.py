"""Loaders for routes: the signed-in patient's context, a group the caller may see."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends

from app.auth.dependencies import PatientUser, StaffUser
from app.clinics import service as clinics_service
from app.clinics.models import User
from app.db import SessionDep
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group


@dataclass(frozen=True)
class PatientContext:
    """A signed-in patient with their enrolment, group and the clinic's today."""

    user: User
    enrolment: Enrolment
    group: Group
    today: date


def get_patient_context(user: PatientUser, session: SessionDep) -> PatientContext:
    """The signed-in patient's active enrolment and group."""
    enrolment = groups_service.enrolment_of(session, patient=user)
    group = groups_service.get_group(session, enrolment.group_id)
    clinic = clinics_service.get_clinic(session, group.clinic_id)
    return PatientContext(
        user=user, enrolment=enrolment, group=group, today=clinics_service.today_at(clinic)
    )


def get_visible_group(code: str, user: StaffUser, session: SessionDep) -> Group:
    """The group named in the path, if the signed-in staff member may see it."""
    return groups_service.get_group_for_staff(session, code=code, viewer=user)


Patient = Annotated[PatientContext, Depends(get_patient_context)]
VisibleGroup = Annotated[Group, Depends(get_visible_group)]
