"""What the outcome summary reads, and how: a fixed number of queries however many patients
and groups (no N+1), practice adherence counted by the database exactly as the programme's
rule says, and only current scores (a correction replaces what it corrects)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from app.clinics.models import User
from app.db import open_session
from app.groups import service as groups_service
from app.groups.models import Enrolment
from app.outcomes import questionnaires
from app.outcomes import summary as cohort_summary
from app.practice.models import PracticeLog
from tests.factories import World, practice_log


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _log(enrolment: Enrolment, day: date, seconds: int) -> PracticeLog:
    started = datetime.combine(day, time(9), tzinfo=UTC)
    return practice_log(enrolment, started_at=started, seconds=seconds, timezone="UTC")


def _add_outcomes(session: Session, enrolment: Enrolment, start: date, *, pain: int) -> None:
    for timepoint, rating in (("baseline", pain), ("end", pain - 2)):
        questionnaires.record_administration(
            session,
            enrolment=enrolment,
            instrument_id="pain_intensity",
            timepoint=timepoint,
            submitted_at=datetime.combine(start, time(12), tzinfo=UTC),
            answers={"pain": rating},
        )
    session.add(_log(enrolment, start + timedelta(days=1), 600))


def _summary_statements(engine: Engine) -> tuple[int, int]:
    """How many statements the clinic-wide summary sends, and for how many patients."""
    with open_session(engine) as session:
        clinician = session.exec(select(User).where(User.login == "clinician@one.example")).one()
        with _statements(engine) as sent:
            summary = cohort_summary.summarise_outcomes(session, viewer=clinician)
        session.rollback()
    return len(sent), len(summary.adherence)


def test_summary_queries_do_not_grow_with_patients_or_groups(engine: Engine, world: World) -> None:
    with open_session(engine, write=True) as session:
        for number, enrolment in enumerate(world.enrolments.values()):
            _add_outcomes(session, enrolment, world.group_a.start_date, pain=4 + number)
        session.commit()
    few, few_patients = _summary_statements(engine)

    with open_session(engine, write=True) as session:
        for letter in "CDE":
            group = groups_service.create_group(
                session,
                clinic_id=world.clinic.id or 0,
                programme_id=world.programme_id,
                code=f"GRP-{letter}",
                name=f"Group {letter}",
                start_date=world.group_a.start_date,
            )
            for number in range(10):
                enrolment = groups_service.enrol_patient(
                    session, group=group, participant_code=f"P-{letter}{number}"
                )
                _add_outcomes(session, enrolment, group.start_date, pain=3 + number % 6)
        session.commit()
    many, many_patients = _summary_statements(engine)

    assert (few_patients, many_patients) == (4, 34)
    assert many == few


@pytest.mark.world(started_days_ago=20)
def test_adherence_counts_practice_days_by_the_rule_within_the_programme_weeks(
    engine: Engine, world: World
) -> None:
    # The test programme: two weeks, a practice day is 10 minutes or more in the day.
    enrolment = world.enrolments["A1"]
    start = world.group_a.start_date
    with open_session(engine, write=True) as session:
        session.add_all(
            [
                _log(enrolment, start - timedelta(days=1), 900),  # before the group started
                _log(enrolment, start, 600),  # exactly ten minutes: a practice day
                _log(enrolment, start + timedelta(days=1), 200),  # three parts make ten minutes
                _log(enrolment, start + timedelta(days=1), 200),
                _log(enrolment, start + timedelta(days=1), 200),
                _log(enrolment, start + timedelta(days=2), 599),  # a second short
                _log(enrolment, start + timedelta(days=13), 630),  # the last programme day
                _log(enrolment, start + timedelta(days=14), 900),  # after the programme
            ]
        )
        session.commit()
    with open_session(engine) as session:
        clinician = session.exec(select(User).where(User.login == "clinician@one.example")).one()
        summary = cohort_summary.summarise_outcomes(session, viewer=clinician)
        session.rollback()
    rows = {row.participant_code: row for row in summary.adherence}
    assert (rows["P-A1"].practice_days, rows["P-A1"].minutes) == (3, 40)  # 2,429 s
    assert (rows["P-A2"].practice_days, rows["P-A2"].minutes) == (0, 0)
    assert [(row.group_code, row.participant_code) for row in summary.adherence] == [
        ("GRP-A", "P-A1"),
        ("GRP-A", "P-A2"),
        ("GRP-B", "P-B1"),
        ("GRP-B", "P-B2"),
    ]


def test_corrections_and_repeats_replace_scores_and_weekly_ratings_alone_still_show(
    engine: Engine, world: World
) -> None:
    start = datetime.combine(world.group_a.start_date, time(12), tzinfo=UTC)
    with open_session(engine, write=True) as session:
        for number, enrolment in enumerate(world.enrolments.values()):
            # A baseline sent twice (two phones at once): the newer one counts.
            for timepoint, pain in (("baseline", 9), ("baseline", 7), ("end", 6 - number)):
                stored, _ = questionnaires.record_administration(
                    session,
                    enrolment=enrolment,
                    instrument_id="pain_intensity",
                    timepoint=timepoint,
                    submitted_at=start,
                    answers={"pain": pain},
                )
            questionnaires.record_administration(  # staff correct the end score to 1
                session,
                enrolment=enrolment,
                instrument_id="pain_intensity",
                timepoint="end",
                submitted_at=start,
                answers={"pain": 1},
                supersedes=stored,
            )
            questionnaires.record_administration(
                session,
                enrolment=enrolment,
                instrument_id="pain_distress",
                timepoint="week_1",
                submitted_at=start,
                answers={"distress": 5},
            )
        session.commit()
    with open_session(engine) as session:
        clinician = session.exec(select(User).where(User.login == "clinician@one.example")).one()
        summary = cohort_summary.summarise_outcomes(session, viewer=clinician)
        session.rollback()
    rows = {(m.instrument.id, m.from_, m.to): m for m in summary.measures}
    assert set(rows) == {
        ("pain_distress", "baseline", "end"),
        ("pain_intensity", "baseline", "end"),
    }
    assert rows[("pain_intensity", "baseline", "end")].pair_counts == {(7.0, 1.0): 4}
    assert rows[("pain_distress", "baseline", "end")].stats.n_pairs == 0
