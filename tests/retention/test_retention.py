"""Retention on the test clock: a dry run lists, --apply deletes (or pseudonymises) and audits,
refuses without a clinic setting, cleans short-lived rows, and runs daily inside the server's
scheduler pass at most once across workers."""

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import func, select
from typer.testing import CliRunner

from app import clock
from app.audit.models import AuditEvent
from app.auth.models import AuthSession, Invite
from app.cli import cli
from app.clinics.models import Clinic, RetentionAction, User
from app.config import Settings
from app.db import open_session
from app.groups.models import Enrolment, EnrolmentContact
from app.practice.models import PracticeLog
from app.reminders import scheduler
from app.retention import service as retention_service
from tests.factories import World, practice_log


def set_clinic(engine: Engine, slug: str, years: int | None, action: str = "delete") -> None:
    with open_session(engine, write=True) as session:
        clinic = session.exec(select(Clinic).where(Clinic.slug == slug)).one()
        clinic.retention_years = years
        clinic.retention_action = RetentionAction(action)
        session.add(clinic)
        session.commit()


def add_practice_and_contact(engine: Engine, world: World) -> None:
    with open_session(engine, write=True) as session:
        enrolment = world.enrolments["A1"]
        session.add(practice_log(enrolment))
        session.add(EnrolmentContact(enrolment_id=enrolment.id or 0, name="Ann Example"))
        session.commit()


def count(engine: Engine, model: type) -> int:
    with open_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def years_later(years: int) -> datetime:
    return clock.now() + timedelta(days=round(365.25 * years))


def test_dry_run_lists_then_apply_deletes_on_the_test_clock(
    world: World, engine: Engine, runner: CliRunner
) -> None:
    add_practice_and_contact(engine, world)
    set_clinic(engine, "two", 8)

    with clock.fixed_at(years_later(7)):
        early = runner.invoke(cli, ["retention", "--dry-run"])
    assert early.exit_code == 0, early.output
    assert "one: keeps 8 years" in early.output and "0 patients" in early.output

    with clock.fixed_at(years_later(9)):
        dry = runner.invoke(cli, ["retention", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "4 patients, 1 practice logs" in dry.output
        assert count(engine, Enrolment) == 4  # a dry run deletes nothing

        applied = runner.invoke(cli, ["retention", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert count(engine, Enrolment) == 0
    assert count(engine, PracticeLog) == 0
    assert count(engine, EnrolmentContact) == 0
    with open_session(engine) as session:
        assert session.exec(select(User).where(User.login == "P-A1")).first() is None
        assert session.exec(select(User).where(User.login == "fa@one.example")).first() is not None
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "retention_applied")
        ).all()
    by_clinic = {e.object_id: e.detail for e in events}
    assert by_clinic["one"]["patients"] == 4 and by_clinic["one"]["counts"]["practice_logs"] == 1


def test_apply_refuses_without_a_clinic_setting_and_names_it(
    world: World, engine: Engine, runner: CliRunner
) -> None:
    set_clinic(engine, "one", None)
    with clock.fixed_at(years_later(9)):
        result = runner.invoke(cli, ["retention", "--apply"])
    assert result.exit_code == 1
    assert "clinic one" in result.output and "retention_years" in result.output
    assert count(engine, Enrolment) == 4
    assert runner.invoke(cli, ["retention"]).exit_code == 2


def test_a_clinic_may_keep_pseudonymised_rows(world: World, engine: Engine) -> None:
    add_practice_and_contact(engine, world)
    set_clinic(engine, "one", 2, "pseudonymise")
    set_clinic(engine, "two", 2)
    with clock.fixed_at(years_later(3)):
        retention_service.apply(engine)
        with open_session(engine) as session:
            again = retention_service.plan(session)
    assert count(engine, PracticeLog) == 1  # the pseudonymous row stays
    assert count(engine, EnrolmentContact) == 0  # the name goes
    with open_session(engine) as session:
        patient = session.exec(select(User).where(User.login == "P-A1")).one()
        assert patient.password_hash is None and not patient.is_active
    assert [p.counts["patients"] for p in again if p.slug == "one"] == [0]  # done once


def test_short_lived_rows_are_cleaned_on_the_same_pass(
    world: World, engine: Engine, runner: CliRunner
) -> None:
    set_clinic(engine, "two", 8)
    now = clock.now()
    with open_session(engine, write=True) as session:
        patient_id = world.users["patient_a1"].id or 0
        session.add_all(
            [
                Invite(user_id=patient_id, code_hash="a" * 64, expires_at=now - timedelta(days=1)),
                Invite(user_id=patient_id, code_hash="b" * 64, expires_at=now + timedelta(days=1)),
                AuthSession(
                    token_hash="c" * 64, user_id=patient_id, expires_at=now - timedelta(hours=1)
                ),
                AuthSession(
                    token_hash="d" * 64, user_id=patient_id, expires_at=now + timedelta(days=1)
                ),
            ]
        )
        session.commit()
    result = runner.invoke(cli, ["retention", "--apply"])
    assert result.exit_code == 0, result.output
    assert "1 expired invites, 1 ended sessions" in result.output
    assert count(engine, Invite) == 1 and count(engine, AuthSession) == 1
    assert count(engine, Enrolment) == 4  # the groups are recent


def test_the_server_runs_it_once_a_day_under_the_reminders_lease(
    world: World, engine: Engine, settings: Settings
) -> None:
    set_clinic(engine, "two", 8)

    def passes() -> int:
        with open_session(engine) as session:
            return len(
                session.exec(
                    select(AuditEvent).where(AuditEvent.action == "retention_housekeeping")
                ).all()
            )

    start = clock.now()
    with clock.fixed_at(start):
        scheduler.run_pass(engine, settings, holder="worker-1")
        scheduler.run_pass(engine, settings, holder="worker-2")  # no lease: does nothing
        scheduler.run_pass(engine, settings, holder="worker-1")  # same day: not again
    assert passes() == 1
    with clock.fixed_at(start + timedelta(days=1, minutes=1)):
        scheduler.run_pass(engine, settings, holder="worker-1")
    assert passes() == 2
