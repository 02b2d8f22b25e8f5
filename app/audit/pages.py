"""The audit viewer for admins: filter the trail, page through it, export it as CSV."""

import csv
import hashlib
import json
import math
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from app.audit import service as audit_service
from app.audit.service import AuditFilter
from app.auth.dependencies import AdminUser
from app.db import SessionDep, utcnow
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])
PER_PAGE = 50
CSV_HEADER = (
    "id",
    "at",
    "actor_login",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "detail",
)


def _filter_from(
    person: str, patient: str, action: str, date_from: str, date_to: str
) -> tuple[AuditFilter, dict[str, str]]:
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, text in (("date_from", date_from), ("date_to", date_to)):
        days[name] = None
        if text.strip():
            try:
                days[name] = date.fromisoformat(text.strip())
            except ValueError:
                errors[name] = "Enter a date as YYYY-MM-DD."
    first, last = days["date_from"], days["date_to"]
    if first and last and first > last:
        errors["date_to"] = "The end date is before the start date."
    where = AuditFilter(
        person=person.strip(),
        patient=patient.strip(),
        action=action.strip(),
        date_from=first,
        date_to=last,
    )
    return where, errors


@router.get("/admin/audit")
def audit_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    person: str = "",
    patient: str = "",
    action: str = "",
    date_from: str = "",
    date_to: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The clinic's audit trail, newest first, filtered and paginated."""
    form = {
        "person": person,
        "patient": patient,
        "action": action,
        "date_from": date_from,
        "date_to": date_to,
    }
    where, errors = _filter_from(person, patient, action, date_from, date_to)
    rows: list[audit_service.AuditRow] = []
    total = 0
    if not errors:
        rows, total = audit_service.list_events(
            session, viewer=user, where=where, page=page, per_page=PER_PAGE
        )
    pages = max(1, math.ceil(total / PER_PAGE))
    query = urlencode({k: v for k, v in form.items() if v})
    context = {
        "form": form,
        "errors": errors,
        "rows": [(row, json.dumps(row.event.detail, sort_keys=True)) for row in rows],
        "total": total,
        "page": page,
        "pages": pages,
        "query": query,
        "actions": audit_service.actions(session, viewer=user),
    }
    return render(request, "audit/index.html", context, status_code=422 if errors else 200)


@router.post("/admin/audit/export", dependencies=[Depends(verify_csrf_form)])
def export_audit(
    user: AdminUser,
    session: SessionDep,
    person: Annotated[str, Form()] = "",
    patient: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    date_from: Annotated[str, Form()] = "",
    date_to: Annotated[str, Form()] = "",
) -> Response:
    """The filtered events as CSV; the export is itself recorded in the trail."""
    where, errors = _filter_from(person, patient, action, date_from, date_to)
    if errors:
        where = AuditFilter(person=where.person, patient=where.patient, action=where.action)
    folder = Path(tempfile.mkdtemp(prefix="tend-audit-"))
    path = folder / f"tend-audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for row in audit_service.iter_events(session, viewer=user, where=where):
            event = row.event
            writer.writerow(
                (
                    event.id,
                    event.at.isoformat(),
                    row.actor_login or "",
                    event.actor_role or "",
                    event.action,
                    event.object_type or "",
                    event.object_id or "",
                    json.dumps(event.detail, sort_keys=True),
                )
            )
            rows += 1
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    audit_service.record(
        session,
        action="audit_export",
        actor=user,
        object_type="audit_event",
        filters=where.as_dict(),
        files={path.name: {"sha256": digest, "rows": rows}},
    )
    return FileResponse(
        path,
        media_type="text/csv",
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
