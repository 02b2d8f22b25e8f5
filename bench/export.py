"""Benchmark: export a bundle holding 1,000,000 practice logs; time and peak memory.

    .venv/bin/python bench/export.py [--rows 1000000] [--database-url URL] [--format bundle]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty
migrated one), loads one clinic with two groups of 20 patients and the practice logs with
executemany, then runs the export in a child process so its peak RSS is the export's own.
Targets (issue 6): under 20 s and under 200 MB peak RSS.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from app import migrate  # noqa: E402
from app.clinics import service as clinics_service  # noqa: E402
from app.clinics.models import Clinic, Role, User  # noqa: E402
from app.db import create_db_engine, open_session  # noqa: E402
from app.groups import service as groups_service  # noqa: E402
from app.practice.models import PracticeLog  # noqa: E402
from app.programme import service as programme_service  # noqa: E402

PROGRAMME = ROOT / "tests" / "fixtures" / "programme" / "programme.yaml"
PATIENTS_PER_GROUP = 20
BATCH = 20_000
TARGET_SECONDS = 20.0
TARGET_MB = 200.0


def seed(url: str, rows: int) -> None:
    """One clinic, two groups, 40 patients and ``rows`` practice logs."""
    engine = create_db_engine(url)
    with open_session(engine, write=True) as session:
        programme, _ = programme_service.load_programme_file(session, PROGRAMME)
        clinic = Clinic(slug="bench", name="Bench Clinic")
        session.add(clinic)
        session.flush()
        clinics_service.add_staff(
            session,
            clinic=clinic,
            email="clinician@bench.example",
            role=Role.clinician,
            display_name="Bench clinician",
            password_hash=None,
        )
        start = date.today() - timedelta(days=400)
        enrolment_ids = []
        for letter in "AB":
            group = groups_service.create_group(
                session,
                clinic_id=clinic.id or 0,
                programme_id=programme.id or 0,
                code=f"BENCH-{letter}",
                name=f"Bench {letter}",
                start_date=start,
            )
            for n in range(PATIENTS_PER_GROUP):
                enrolment = groups_service.enrol_patient(
                    session, group=group, participant_code=f"B-{letter}{n:02d}"
                )
                enrolment_ids.append(enrolment.id)
        session.commit()
    table = PracticeLog.__table__  # type: ignore[attr-defined]
    base = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    began = time.perf_counter()
    with engine.begin() as connection:
        batch = []
        for i in range(rows):
            started = base + timedelta(minutes=7 * i % (400 * 1440))
            batch.append(
                {
                    "id": f"{i:08x}-0000-4000-8000-000000000000",
                    "enrolment_id": enrolment_ids[i % len(enrolment_ids)],
                    "exercise_id": None,
                    "kind": "own",
                    "started_at": started,
                    "utc_offset_minutes": 0,
                    "timezone": "Europe/London",
                    "local_date": started.date(),
                    "listened_seconds": 300 + i % 900,
                    "completed": True,
                    "received_at": started + timedelta(minutes=2),
                    "clock_suspect": False,
                    "request_sha256": "0" * 64,
                }
            )
            if len(batch) == BATCH:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
    print(f"seeded {rows:,} practice logs in {time.perf_counter() - began:.1f} s")
    engine.dispose()


def run_export(url: str, out: Path, export_format: str) -> None:
    """The measured part: runs in its own process."""
    from app.exports import service as exports_service

    engine = create_db_engine(url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    began = time.perf_counter()
    with open_session(engine, write=True) as session:
        clinician = session.exec(select(User).where(User.login == "clinician@bench.example")).one()
        result = exports_service.run_export(
            session,
            actor=clinician,
            request=exports_service.ExportRequest(
                format=exports_service.ExportFormat(export_format)
            ),
            out_dir=out,
        )
        session.commit()
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    cpu_seconds = usage.ru_utime + usage.ru_stime - cpu_before
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
                "peak_rss_mb": round(peak_mb, 1),
                "rows": result.table_rows,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--format", default="bundle", choices=["bundle", "xlsx", "fhir", "redcap"])
    parser.add_argument(
        "--keep",
        default="",
        help="SQLite file to seed once and reuse on later runs (default: a fresh temporary one)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_export(args.database_url, Path(args.out), args.format)
        return 0
    with tempfile.TemporaryDirectory(prefix="tend-bench-") as folder:
        url = args.database_url or f"sqlite:///{args.keep or folder + '/bench.db'}"
        if not (args.keep and Path(args.keep).exists()):
            migrate.upgrade(url)
            seed(url, args.rows)
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--database-url",
                url,
                "--out",
                f"{folder}/export",
                "--format",
                args.format,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        measured = json.loads(child.stdout.strip().splitlines()[-1])
    ok = measured["seconds"] < TARGET_SECONDS and measured["peak_rss_mb"] < TARGET_MB
    load = os.getloadavg()[0]
    print(
        f"{args.format} export: {measured['seconds']} s wall, {measured['cpu_seconds']} s CPU, "
        f"peak RSS {measured['peak_rss_mb']} MB (targets < {TARGET_SECONDS:.0f} s, "
        f"< {TARGET_MB:.0f} MB): {'PASS' if ok else 'FAIL'}; load average {load:.1f} "
        f"on {os.cpu_count()} cores"
    )
    print(json.dumps(measured["rows"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
