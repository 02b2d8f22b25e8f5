"""Patients' words: coding a group's comments, theme counts with quotes, the clinic codebook."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit import service as audit
from app.auth.dependencies import StaffUser
from app.clinics.models import User
from app.comments import service as comments_service
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups.dependencies import VisibleGroup
from app.groups.models import Group
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
CsrfChecked = [Depends(verify_csrf_form)]


def _words_context(session: Session, group: Group) -> dict[str, Any]:
    comments = comments_service.comments_for_coding(session, group=group)
    return {
        "group": group,
        "comments": comments,
        "uncoded": comments_service.uncoded_count(comments),
        "themes": comments_service.codebook(session, clinic_id=group.clinic_id),
        "summary": comments_service.theme_summary(session, group=group),
    }


@router.get("/groups/{code}/words")
def words_page(
    request: Request, group: VisibleGroup, user: StaffUser, session: SessionDep
) -> Response:
    """The group's comments for coding, with theme counts and example quotes."""
    context = _words_context(session, group)
    audit.record(
        session,
        action="view_patient_comments",
        actor=user,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
        comments=len(context["comments"]),
    )
    return render(request, "comments/words.html", context)


@router.post("/groups/{code}/words/{reflection_id}", dependencies=CsrfChecked)
def code_comment_submit(
    group: VisibleGroup,
    reflection_id: str,
    user: StaffUser,
    session: SessionDep,
    themes: Annotated[list[int] | None, Form()] = None,
) -> Response:
    comments_service.set_codes(
        session, actor=user, group=group, reflection_id=reflection_id, theme_ids=themes or []
    )
    return RedirectResponse(f"/groups/{group.code}/words#c-{reflection_id}", status_code=303)


def _codebook_context(
    session: Session, user: User, form: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "themes": comments_service.codebook(session, clinic_id=user.clinic_id),
        "form": form,
        "errors": errors,
    }


@router.get("/codebook")
def codebook_page(request: Request, user: StaffUser, session: SessionDep) -> Response:
    return render(request, "comments/codebook.html", _codebook_context(session, user, {}, {}))


@router.post("/codebook", dependencies=CsrfChecked)
def add_theme_submit(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    label: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    try:
        with session.begin_nested():
            comments_service.add_theme(
                session,
                actor=user,
                clinic_id=user.clinic_id,
                label=label,
                description=description,
            )
    except InvalidInput as error:
        form = {"label": label, "description": description}
        context = _codebook_context(session, user, form, {error.field or "label": error.message})
        return render(request, "comments/codebook.html", context, status_code=422)
    return RedirectResponse("/codebook", status_code=303)


@router.post("/codebook/{theme_id}", dependencies=CsrfChecked)
def change_theme_submit(
    request: Request,
    theme_id: int,
    user: StaffUser,
    session: SessionDep,
    label: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    retired: Annotated[bool, Form()] = False,
) -> Response:
    theme = comments_service.get_theme(session, clinic_id=user.clinic_id, theme_id=theme_id)
    try:
        with session.begin_nested():
            comments_service.update_theme(
                session,
                actor=user,
                theme=theme,
                label=label,
                description=description,
                retired=retired,
            )
    except InvalidInput as error:
        context = _codebook_context(session, user, {}, {})
        context["theme_errors"] = {theme_id: error.message}
        context["theme_forms"] = {theme_id: label}
        return render(request, "comments/codebook.html", context, status_code=422)
    return RedirectResponse("/codebook", status_code=303)
