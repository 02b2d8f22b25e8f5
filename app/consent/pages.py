"""Consent pages: the admin's information sheet editor, a patient's re-consent after a new
version, and staff recording consent given on paper."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.dependencies import AdminUser, StaffUser
from app.clinics.models import User
from app.consent import service as consent_service
from app.consent.models import ConsentDocument, ConsentMethod
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups import service as groups_service
from app.groups.dependencies import Patient, VisibleGroup
from app.i18n import gettext
from app.web.csrf import verify_csrf_form
from app.web.forms import FormFields
from app.web.templating import render

router = APIRouter(tags=["pages"])
CsrfChecked = [Depends(verify_csrf_form)]


def _editor_form(document: ConsentDocument | None) -> dict[str, str]:
    if document is None:
        return {}
    statements = document.statements
    return {
        "information_sheet": document.information_sheet,
        "required_statements": "\n".join(s["text"] for s in statements if s["required"]),
        "evaluation_statement": next(
            (s["text"] for s in statements if s["key"] == consent_service.EVALUATION_KEY), ""
        ),
        "optional_statements": "\n".join(
            s["text"]
            for s in statements
            if not s["required"] and s["key"] != consent_service.EVALUATION_KEY
        ),
    }


def _editor(
    request: Request,
    session: SessionDep,
    user: User,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    versions = consent_service.all_versions(session, clinic_id=user.clinic_id)
    context = {
        "versions": versions,
        "form": form if form is not None else _editor_form(versions[0] if versions else None),
        "errors": errors or {},
    }
    return render(request, "consent/editor.html", context, status_code=status_code)


@router.get("/admin/consent")
def consent_editor(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """The clinic's information sheet and statements, and every version published."""
    return _editor(request, session, user)


@router.post("/admin/consent", dependencies=CsrfChecked)
def consent_publish(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    information_sheet: Annotated[str, Form()] = "",
    required_statements: Annotated[str, Form()] = "",
    evaluation_statement: Annotated[str, Form()] = "",
    optional_statements: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "information_sheet": information_sheet,
        "required_statements": required_statements,
        "evaluation_statement": evaluation_statement,
        "optional_statements": optional_statements,
    }
    try:
        with session.begin_nested():
            consent_service.publish(session, actor=user, **form)
    except InvalidInput as error:
        return _editor(request, session, user, form, {error.field or "": error.message}, 422)
    return RedirectResponse("/admin/consent", status_code=303)


@router.get("/consent")
def reconsent_page(request: Request, patient: Patient, session: SessionDep) -> Response:
    """The clinic's current sheet, for a patient whose answers were to an older version."""
    document = consent_service.current_document(session, clinic_id=patient.group.clinic_id)
    return render(request, "consent/ask.html", {"consent": document, "form": {}, "errors": {}})


@router.post("/consent", dependencies=CsrfChecked)
def reconsent_submit(
    request: Request, patient: Patient, session: SessionDep, fields: FormFields
) -> Response:
    document = consent_service.current_document(session, clinic_id=patient.group.clinic_id)
    if document is None:
        return RedirectResponse("/today", status_code=303)
    answers = consent_service.answers_from_form(document, fields)
    try:
        with session.begin_nested():
            consent_service.record_consent(
                session, patient=patient.user, document=document, answers=answers
            )
    except InvalidInput as error:
        context = {
            "consent": document,
            "form": fields,
            "errors": {error.field or "": gettext(error.message)},
        }
        return render(request, "consent/ask.html", context, status_code=422)
    return RedirectResponse("/today", status_code=303)


@router.post("/groups/{code}/patients/{participant_code}/consent", dependencies=CsrfChecked)
def paper_consent_submit(
    group: VisibleGroup,
    participant_code: str,
    user: StaffUser,
    session: SessionDep,
    fields: FormFields,
) -> Response:
    """Record consent the patient gave on paper, to the current version, marked as paper."""
    enrolment = groups_service.get_enrolment_in_group(
        session, group=group, participant_code=participant_code
    )
    document = consent_service.current_document(session, clinic_id=group.clinic_id)
    if document is None:
        raise InvalidInput(
            "The clinic has not published an information sheet yet.", field="consent"
        )
    patient = session.get(User, enrolment.user_id)
    assert patient is not None
    consent_service.record_consent(
        session,
        patient=patient,
        document=document,
        answers=consent_service.answers_from_form(document, fields),
        method=ConsentMethod.paper,
        recorded_by=user,
    )
    return RedirectResponse(
        f"/groups/{group.code}/patients/{enrolment.participant_code}#consent", status_code=303
    )
