"""The ceiling: a bare FastAPI app doing the same database work as Tend's practice-log write.

Per request, like Tend: look the session up by token hash (joined to its user), load the
patient's active enrolment, then in one write transaction (BEGIN IMMEDIATE on SQLite) look the
log up by id and either compare the body's hash (replay: 200) or insert the log (201). No
validation of zones or dates, no audit, no middleware: what is left is the framework's and the
database's own cost. Serve with `uvicorn bench.baseline:app` and TEND_DATABASE_URL set.
"""

import gc
import hashlib
import json
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db import create_db_engine

engine = create_db_engine(os.environ["TEND_DATABASE_URL"])
write_engine = engine.execution_options(sqlite_immediate=True)
app = FastAPI()


@app.post("/practice-logs")
def practice_log(body: dict[str, Any], request: Request) -> JSONResponse:
    token = request.cookies.get("tend_session", "")
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    with write_engine.begin() as connection:
        user_id = connection.execute(
            text(
                'SELECT s.user_id FROM auth_session s JOIN "user" u ON u.id = s.user_id '
                "WHERE s.token_hash = :h AND s.revoked_at IS NULL"
            ),
            {"h": token_hash},
        ).scalar()
        if user_id is None:
            return JSONResponse({"detail": "Please sign in."}, status_code=401)
        enrolment_id = connection.execute(
            text("SELECT id FROM enrolment WHERE user_id = :u AND status = 'active'"),
            {"u": user_id},
        ).scalar()
        stored = connection.execute(
            text("SELECT request_sha256 FROM practice_log WHERE id = :id"), {"id": body["id"]}
        ).scalar()
        if stored is not None:
            status = 200 if stored == digest else 422
            return JSONResponse({"id": body["id"]}, status_code=status)
        connection.execute(
            text(
                "INSERT INTO practice_log (id, enrolment_id, exercise_id, kind, started_at, "
                "utc_offset_minutes, timezone, local_date, listened_seconds, completed, "
                "received_at, clock_suspect, request_sha256) VALUES (:id, :e, :x, 'exercise', "
                ":s, 0, :tz, :d, :l, :c, :r, false, :h)"
            ),
            {
                "id": body["id"],
                "e": enrolment_id,
                "x": body["exercise_id"],
                "s": datetime.fromisoformat(body["started_at"]),
                "tz": body["timezone"],
                "d": datetime.fromisoformat(body["local_date"]).date(),
                "l": body["listened_seconds"],
                "c": body["completed"],
                "r": datetime.now(UTC),
                "h": digest,
            },
        )
    return JSONResponse({"id": body["id"]}, status_code=201)


# As app/asgi.py does for Tend once the app is built: a baseline whose collector still walks
# every start-up object on full passes would pay a cost Tend does not, and flatter Tend.
gc.freeze()
