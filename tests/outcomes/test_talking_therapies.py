"""NHS Talking Therapies counted jointly over PHQ-9 and GAD-7 through the summary, the JSON API
and the clinician page, on a cast worked by hand (PHQ-9 before, after; GAD-7 before, after):

- P-A1 12, 8; 9, 6: a case who recovers without reliable improvement (falls of 4 and 3);
- P-A2 6, 2; 5, 1: not a case; GAD-7 falls 4 (reliable), so reliable improvement;
- P-A3 16, 10; 6, 10: PHQ-9 falls 6, GAD-7 rises 4: neither improvement nor deterioration;
- P-A4, P-A5 15, 9; 12, 7: reliable recovery;
- P-A6 8, 9; 4, 9: not a case; GAD-7 rises 5: reliable deterioration;
- P-B1 14, 8 on PHQ-9 only: not counted, reported as having one measure.

Six people with both: 4 cases, 3 recovered (of 4), 2 reliably recovered (of 4), 3 reliable
improvement, 1 reliable deterioration, 2 no reliable change (of 6).
"""

from datetime import UTC, datetime, time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from app.clinics.models import User
from app.db import open_session
from app.groups import service as groups_service
from app.outcomes import questionnaires
from tests.factories import PASSWORD_HASH, World, login
from tests.pages import visible_text

CAST = {
    "P-A1": (12, 8, 9, 6),
    "P-A2": (6, 2, 5, 1),
    "P-A3": (16, 10, 6, 10),
    "P-A4": (15, 9, 12, 7),
    "P-A5": (15, 9, 12, 7),
    "P-A6": (8, 9, 4, 9),
    "P-B1": (14, 8, None, None),
}


@pytest.fixture(autouse=True)
def scores(engine: Engine, world: World) -> None:
    """The cast's group A grows to six patients; everyone's scores as CAST says."""
    with open_session(engine, write=True) as session:
        staff = session.exec(select(User).where(User.login == "clinician@one.example")).one()
        enrolments = {f"P-{code}": e for code, e in world.enrolments.items()}
        group_a = groups_service.get_group(session, world.group_a.id or 0)
        for code in ("P-A3", "P-A4", "P-A5", "P-A6"):
            enrolments[code] = groups_service.enrol_patient(
                session, group=group_a, participant_code=code, password_hash=PASSWORD_HASH
            )
        when = datetime.combine(world.group_a.start_date, time(12), tzinfo=UTC)
        for code, (phq_pre, phq_post, gad_pre, gad_post) in CAST.items():
            for instrument_id, totals in (
                ("phq9", (phq_pre, phq_post)),
                ("gad7", (gad_pre, gad_post)),
            ):
                for timepoint, total in zip(("baseline", "end"), totals, strict=True):
                    if total is not None:
                        questionnaires.record_administration(
                            session,
                            enrolment=enrolments[code],
                            instrument_id=instrument_id,
                            timepoint=timepoint,
                            submitted_at=when,
                            total=float(total),
                            entered_by=staff,
                        )
        session.commit()


def test_joint_categories_worked_by_hand(client: TestClient) -> None:
    login(client, "clinician@one.example")
    summary = client.get("/api/v1/outcomes/summary").json()
    [joint] = summary["talking_therapies"]  # no follow-up scores: one pair of timepoints
    assert {k: v for k, v in joint.items() if k != "definition"} == {
        "from": "baseline",
        "to": "end",
        "n_pairs": 6,
        "n_cases_at_baseline": 4,
        "recovered": 3,
        "reliable_improvement": 3,
        "reliable_recovery": 2,
        "reliable_deterioration": 1,
        "no_reliable_change": 2,
        "only_one_measure": 1,
        "too_few": False,
    }
    assert "PHQ-9 >= 10 or GAD-7 >= 8" in joint["definition"]
    # The per-measure counts stay, labelled as such: PHQ-9 alone has 7 pairs, 4 falling by 6+
    # (P-A3, P-A4, P-A5, P-B1).
    phq9 = next(m for m in summary["measures"] if (m["instrument"], m["to"]) == ("phq9", "end"))
    assert phq9["reliable_change_label"].startswith("Per-measure reliable change")
    assert (phq9["n_pairs"], phq9["reliable_improvement"]) == (7, 4)

    text = visible_text(client.get("/outcomes").text)
    assert "NHS Talking Therapies (PHQ-9 with GAD-7, jointly)" in text
    assert "3 / 4 (75%)" in text  # recovered, of the cases at baseline
    assert "2 / 6 (33%)" in text  # no reliable change, of everyone with both


def test_only_one_measure_gives_no_joint_row_and_few_pairs_no_counts(client: TestClient) -> None:
    login(client, "clinician@one.example")
    summary = client.get("/api/v1/outcomes/summary?group=GRP-B").json()
    # GRP-B has P-B1 with PHQ-9 only: nobody with both, so no joint row at all.
    assert summary["talking_therapies"] == []
    phq9 = next(m for m in summary["measures"] if (m["instrument"], m["to"]) == ("phq9", "end"))
    assert phq9["n_pairs"] == 1 and phq9["reliable_improvement"] is None
