"""The patient's own data (CONTRACT: GET /api/v1/me/export, POST /api/v1/me/withdraw)."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.auth.cookies import clear_session_cookie
from app.auth.dependencies import PatientUser
from app.db import SessionDep
from app.rights import service as rights_service
from app.rights.schemas import WithdrawRequest, WithdrawResult

router = APIRouter(prefix="/me", tags=["my data"])


def download_name(login: str) -> str:
    """The file name a browser saves the export under."""
    return f"tend-my-data-{''.join(c for c in login if c.isalnum() or c == '-')}.json"


@router.get("/export")
def export_my_data(user: PatientUser, session: SessionDep) -> Response:
    """Everything Tend holds about me, as JSON (keys: account, enrolments, consents,
    practice_logs, check_ins, reflections, questionnaires, reminders, views)."""
    document: dict[str, Any] = rights_service.export_data(session, patient=user)
    return JSONResponse(
        document,
        headers={"Content-Disposition": f'attachment; filename="{download_name(user.login)}"'},
    )


@router.post("/withdraw", response_model=WithdrawResult)
def withdraw_me(
    request: Request, body: WithdrawRequest, user: PatientUser, session: SessionDep
) -> Response:
    """Stop using Tend (needs the passphrase again): the account closes, sessions end and
    reminders stop; with ``erase`` what I recorded is deleted too. Kept either way: completed
    questionnaires, safety flags and the audit trail."""
    erased = rights_service.withdraw_self(
        session, patient=user, erase=body.erase, password=body.password
    )
    result = WithdrawResult(
        erased=body.erase,
        erased_counts=asdict(erased) if erased else {},
        kept=list(rights_service.KEPT_WHATEVER_YOU_CHOOSE),
    )
    response = JSONResponse(result.model_dump())
    clear_session_cookie(request, response)
    return response
