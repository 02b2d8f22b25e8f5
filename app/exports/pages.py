"""The clinician's export page: choose groups, download the bundle as a zip."""

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.auth.dependencies import ClinicianUser
from app.db import SessionDep, utcnow
from app.exports import service as exports_service
from app.groups import service as groups_service
from app.security.dependencies import limit_exports
from app.web.csrf import verify_csrf_form
from app.web.templating import render

router = APIRouter(tags=["pages"])


@router.get("/exports")
def exports_page(request: Request, user: ClinicianUser, session: SessionDep) -> Response:
    groups = groups_service.visible_groups(session, viewer=user)
    return render(request, "exports/index.html", {"groups": groups})


@router.post("/exports", dependencies=[Depends(verify_csrf_form), Depends(limit_exports)])
def download_bundle(
    user: ClinicianUser,
    session: SessionDep,
    groups: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The bundle for the chosen groups (all the clinic's when none is ticked), as a zip."""
    with tempfile.TemporaryDirectory() as folder:
        result = exports_service.write_bundle(
            session, actor=user, out_dir=Path(folder) / "bundle", group_codes=groups or ()
        )
        archive = exports_service.zip_directory(result.directory)
    name = f"tend-export-{utcnow():%Y%m%d-%H%M%S}.zip"
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
