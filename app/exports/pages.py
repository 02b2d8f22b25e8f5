"""The export page: choose groups, dates, format and pseudonymisation; download the file."""

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from app.auth.dependencies import ClinicianUser
from app.db import SessionDep, utcnow
from app.errors import InvalidInput
from app.exports import service as exports_service
from app.exports.service import ExportFormat, ExportRequest
from app.groups import service as groups_service
from app.security.dependencies import limit_exports
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])

FORMAT_LABELS = {
    ExportFormat.bundle: "CSV bundle with codebook (.zip)",
    ExportFormat.xlsx: "Excel workbook (.xlsx)",
    ExportFormat.fhir: "FHIR R4 Bundle (.json)",
    ExportFormat.redcap: "REDCap data dictionary and records (.zip)",
}


def _page(
    request: Request,
    user: ClinicianUser,
    session: SessionDep,
    form: dict[str, object],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    groups = groups_service.visible_groups(session, viewer=user)
    context = {
        "groups": groups,
        "form": form,
        "errors": errors,
        "formats": FORMAT_LABELS,
        # Offered once, never stored: the clinician keeps it with the study's records.
        "new_study_key": exports_service.generate_study_key(),
    }
    return render(request, "exports/index.html", context, status_code=status_code)


@router.get("/exports")
def exports_page(request: Request, user: ClinicianUser, session: SessionDep) -> Response:
    """The export form (clinicians and admins: facilitators do not export)."""
    return _page(request, user, session, {"format": "bundle"}, {})


def _parse_date(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None


@router.post("/exports", dependencies=[Depends(verify_csrf_form), Depends(limit_exports)])
def download_export(
    request: Request,
    user: ClinicianUser,
    session: SessionDep,
    groups: Annotated[list[str] | None, Form()] = None,
    date_from: Annotated[str, Form()] = "",
    date_to: Annotated[str, Form()] = "",
    export_format: Annotated[str, Form(alias="format")] = "bundle",
    study_key: Annotated[str, Form()] = "",
    date_shift: Annotated[str, Form()] = "",
    free_text: Annotated[str, Form()] = "",
    consented_only: Annotated[str, Form()] = "",
) -> Response:
    """Write the export to a temporary folder and send it as one file, deleted afterwards."""
    form: dict[str, object] = {
        "groups": groups or [],
        "date_from": date_from,
        "date_to": date_to,
        "format": export_format,
        "date_shift": bool(date_shift),
        "free_text": bool(free_text),
        "consented_only": bool(consented_only),
    }  # the study key is not echoed back into the page
    errors: dict[str, str] = {}
    first = _parse_date(date_from, "date_from", errors)
    last = _parse_date(date_to, "date_to", errors)
    if export_format not in ExportFormat.__members__:
        errors["format"] = "Choose one of the formats."
    if errors:
        return _page(request, user, session, form, errors, status_code=422)
    export_request = ExportRequest(
        format=ExportFormat(export_format),
        group_codes=tuple(groups or ()),
        date_from=first,
        date_to=last,
        study_key=study_key.strip(),
        date_shift=bool(date_shift),
        free_text=bool(free_text),
        consented_only=bool(consented_only),
    )
    folder = Path(tempfile.mkdtemp(prefix="tend-export-"))
    try:
        result = exports_service.run_export(
            session, actor=user, request=export_request, out_dir=folder / "export"
        )
    except InvalidInput as error:
        exports_service.remove_tree(folder)
        errors[error.field or "format"] = error.message
        return _page(request, user, session, form, errors, status_code=422)
    except BaseException:
        exports_service.remove_tree(folder)
        raise
    stamp = f"{utcnow():%Y%m%d-%H%M%S}"
    cleanup = BackgroundTask(exports_service.remove_tree, folder)
    if result.format in (ExportFormat.bundle, ExportFormat.redcap):
        target = folder / f"tend-{result.format.value}-{stamp}.zip"
        exports_service.zip_to_file(result.directory, target)
        return FileResponse(
            target, media_type="application/zip", filename=target.name, background=cleanup
        )
    (name,) = result.files
    suffix, media = (
        (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        if result.format == ExportFormat.xlsx
        else (".json", "application/fhir+json")
    )
    return FileResponse(
        result.directory / name,
        media_type=media,
        filename=f"tend-{result.format.value}-{stamp}{suffix}",
        background=cleanup,
    )
