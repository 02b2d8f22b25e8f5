"""The admin's retention setting: how long the clinic keeps data after a group ends."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.dependencies import AdminUser
from app.clinics import service as clinics_service
from app.clinics.models import DEFAULT_RETENTION_YEARS, RetentionAction
from app.db import SessionDep
from app.errors import InvalidInput
from app.retention import service as retention_service
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])


@router.get("/admin/retention")
def retention_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """The clinic's retention period and what a pass would remove today."""
    clinic = clinics_service.get_clinic(session, user.clinic_id)
    context = {
        "clinic": clinic,
        "plan": retention_service.plan_clinic(session, clinic),
        "default_years": DEFAULT_RETENTION_YEARS,
        "form": {},
        "errors": {},
    }
    return render(request, "retention/setting.html", context)


@router.post("/admin/retention", dependencies=[Depends(verify_csrf_form)])
def retention_submit(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    retention_years: Annotated[str, Form()] = "",
    retention_action: Annotated[str, Form()] = "delete",
) -> Response:
    try:
        if not retention_years.strip().isdigit():
            raise InvalidInput("Give a whole number of years.", field="retention_years")
        try:
            action = RetentionAction(retention_action)
        except ValueError as error:
            raise InvalidInput(
                "Choose delete or pseudonymise.", field="retention_action"
            ) from error
        with session.begin_nested():
            retention_service.set_retention(
                session, actor=user, years=int(retention_years), action=action
            )
    except InvalidInput as error:
        clinic = clinics_service.get_clinic(session, user.clinic_id)
        context = {
            "clinic": clinic,
            "plan": retention_service.plan_clinic(session, clinic),
            "default_years": DEFAULT_RETENTION_YEARS,
            "form": {"retention_years": retention_years, "retention_action": retention_action},
            "errors": {error.field or "retention_years": error.message},
        }
        return render(request, "retention/setting.html", context, status_code=422)
    return RedirectResponse("/admin/retention", status_code=303)
