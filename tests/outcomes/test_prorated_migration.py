"""Migration 5b0c3e7a9d21 marks the PHQ-9 totals already stored with items unanswered as
prorated, and nothing else, and every safety flag survives it (on SQLite, where rebuilding the
table would have cascaded deletes to the flags; the backfill reads the answers in Python, so
the engine does not matter to it)."""

import json
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from app.config import PROJECT_ROOT
from app.migrate import upgrade

REVISION = "5b0c3e7a9d21"
ANSWERED = {f"q{n}": 1 for n in range(1, 10)}


def _before_it() -> str:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    down = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


def test_stored_phq9_totals_with_missing_items_become_prorated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, _before_it())
    rows = [
        (1, "phq9", "submitted", {**ANSWERED, "q3": None}, False),  # prorated
        (2, "phq9", "submitted", ANSWERED, False),
        (3, "phq9", "submitted", {}, True),  # a total entered by staff: no answers to prorate
        (4, "phq9", "draft", {**ANSWERED, "q3": None}, False),  # a draft is not scored
        (5, "gad7", "submitted", {f"q{n}": 1 for n in range(1, 8)}, False),
    ]
    engine = create_engine(url)  # foreign keys unenforced: only this table matters here
    with engine.begin() as connection:
        for row_id, instrument, status, answers, as_total in rows:
            connection.execute(
                text(
                    "INSERT INTO administration (id, enrolment_id, instrument_id, "
                    "instrument_version, timepoint, status, answers, entered_as_total, "
                    "started_at, staff_entered) VALUES (:id, 1, :instrument, '1', 'baseline', "
                    ":status, :answers, :as_total, '2026-01-01 00:00:00', 0)"
                ),
                {
                    "id": row_id,
                    "instrument": instrument,
                    "status": status,
                    "answers": json.dumps(answers),
                    "as_total": as_total,
                },
            )
        connection.execute(
            text(
                "INSERT INTO safety_flag (id, enrolment_id, administration_id, instrument_id, "
                "item_id, answer, raised_at) VALUES (1, 1, 1, 'phq9', 'q9', 1, "
                "'2026-01-01 00:00:00')"
            )
        )
    upgrade(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM safety_flag")).scalar() == 1
        marked = connection.execute(
            text("SELECT id FROM administration WHERE prorated ORDER BY id")
        ).scalars()
        assert list(marked) == [1]
    engine.dispose()
