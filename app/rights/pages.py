"""My data (the patient's page) and the staff side: a subject access file, and withdrawal on
the patient's behalf with the same choice."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response

from app.auth.cookies import clear_session_cookie
from app.auth.dependencies import PatientUser, StaffUser
from app.clinics.models import User
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups import service as groups_service
from app.groups.dependencies import VisibleGroup
from app.i18n import N_, gettext
from app.rights import service as rights_service
from app.rights.api import download_name
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
CsrfChecked = [Depends(verify_csrf_form)]


def _my_data(
    request: Request,
    session: SessionDep,
    user: User,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "data": rights_service.export_data(session, patient=user),
        "kept": rights_service.KEPT_WHATEVER_YOU_CHOOSE,
        "erasable": rights_service.ERASED_ON_REQUEST,
        "form": form or {},
        "errors": errors or {},
    }
    return render(request, "rights/my_data.html", context, status_code=status_code)


@router.get("/my-data")
def my_data_page(request: Request, user: PatientUser, session: SessionDep) -> Response:
    """Everything Tend holds about me, in plain words, with the download and how to stop."""
    return _my_data(request, session, user)


@router.post("/my-data/withdraw", dependencies=CsrfChecked)
def my_data_withdraw(
    request: Request,
    user: PatientUser,
    session: SessionDep,
    choice: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    form = {"choice": choice}
    try:
        if choice not in ("keep", "erase"):
            raise InvalidInput(N_("Choose what happens to what you recorded."), field="choice")
        with session.begin_nested():
            rights_service.withdraw_self(
                session, patient=user, erase=choice == "erase", password=password
            )
    except InvalidInput as error:
        return _my_data(
            request, session, user, form, {error.field or "": gettext(error.message)}, 422
        )
    request.state.user = None  # signed out now: the page offers no app navigation
    response = render(request, "rights/withdrawn.html", {"erased": choice == "erase"})
    clear_session_cookie(request, response)
    return response


@router.get("/groups/{code}/patients/{participant_code}/my-data.json")
def subject_access_file(
    group: VisibleGroup, participant_code: str, user: StaffUser, session: SessionDep
) -> Response:
    """The patient's data file, as they would download it, for a subject access request
    (audited)."""
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )
    patient = session.get(User, enrolment.user_id)
    assert patient is not None
    document = rights_service.export_data(session, patient=patient)
    rights_service.record_subject_access(session, actor=user, patient=patient)
    return JSONResponse(
        document,
        headers={"Content-Disposition": f'attachment; filename="{download_name(patient.login)}"'},
    )
