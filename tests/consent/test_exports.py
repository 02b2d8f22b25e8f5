"""Exports carry each participant's evaluation answer, and can leave out those who did not agree."""

import csv
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from app.cli import cli
from app.consent import service as consent_service
from app.consent.models import ConsentMethod
from app.db import open_session
from tests.factories import World, practice_log


def consent_and_practice(engine: Engine, world: World) -> None:
    """P-A1 agreed to evaluation use, P-A2 did not, P-B1 was never asked; each practised once."""
    with open_session(engine, write=True) as session:
        document = consent_service.publish(
            session,
            actor=world.users["admin"],
            information_sheet="About Tend",
            required_statements="I agree to use Tend.",
            evaluation_statement="My answers may be used to evaluate the service.",
        )
        for key, agreed in (("patient_a1", True), ("patient_a2", False)):
            consent_service.record_consent(
                session,
                patient=world.users[key],
                document=document,
                answers={"required_1": True, "evaluation": agreed},
                method=ConsentMethod.paper,
                recorded_by=world.users["facilitator_a"],
            )
        for code in ("A1", "A2", "B1"):
            session.add(practice_log(world.enrolments[code]))
        session.commit()


def practice_rows(folder: Path) -> dict[str, str]:
    with (folder / "practice_logs.csv").open() as file:
        return {row["participant_code"]: row["consent_evaluation"] for row in csv.DictReader(file)}


def test_exports_carry_consent_evaluation_and_can_leave_out_non_consenters(
    world: World, engine: Engine, runner: CliRunner, tmp_path: Path
) -> None:
    consent_and_practice(engine, world)
    as_clinician = ["--as", "clinician@one.example"]

    everyone = runner.invoke(cli, ["export", "--out", str(tmp_path / "all"), *as_clinician])
    assert everyone.exit_code == 0, everyone.output
    assert practice_rows(tmp_path / "all") == {"P-A1": "1", "P-A2": "0", "P-B1": ""}
    with (tmp_path / "all" / "codebook.csv").open() as file:
        assert "consent_evaluation" in {row["variable"] for row in csv.DictReader(file)}

    chosen = runner.invoke(
        cli, ["export", "--out", str(tmp_path / "yes"), "--consented-only", *as_clinician]
    )
    assert chosen.exit_code == 0, chosen.output
    assert practice_rows(tmp_path / "yes") == {"P-A1": "1"}
    readme = (tmp_path / "yes" / "README.md").read_text()
    assert "Only participants who agreed to evaluation use are included." in readme
