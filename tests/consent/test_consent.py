"""Informed consent: at joining (page and API), again after a new version, and on paper."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import col, select

from app.auth import service as auth_service
from app.clinics.models import User
from app.config import Settings
from app.consent.models import ConsentMethod, ConsentRecord
from app.db import open_session
from app.groups import service as groups_service
from tests.factories import World, login
from tests.pages import hidden_fields, submit, visible_text

SHEET = "# About Tend\n\nTend keeps your **practice** and ratings. <script>alert(1)</script>"
PASSPHRASE = "a calm blue river"
USE = "statement-required_1"
EVALUATION = "statement-evaluation"


def publish(client: TestClient, sheet: str = SHEET) -> None:
    """The clinic's admin publishes a version through the editor page."""
    login(client, "admin@one.example")
    response = submit(
        client,
        "/admin/consent",
        "/admin/consent",
        {
            "information_sheet": sheet,
            "required_statements": "I agree to use Tend as part of the group.",
            "evaluation_statement": "My answers may be used, without my name, to evaluate the "
            "service.",
        },
    )
    assert response.status_code == 303, response.text
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)


def invite(engine: Engine, settings: Settings, world: World, patient: str = "patient_a1") -> str:
    with open_session(engine, write=True) as session:
        code = auth_service.issue_invite(
            session,
            patient=world.users[patient],
            issued_by=world.users["facilitator_a"],
            settings=settings,
        )
        session.commit()
    return code


def records(engine: Engine) -> list[ConsentRecord]:
    with open_session(engine) as session:
        return list(session.exec(select(ConsentRecord).order_by(ConsentRecord.id)).all())


def test_joining_shows_the_sheet_after_the_code_and_refuses_without_the_required_statement(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    publish(client)
    code = invite(engine, settings, world)

    first = client.get("/join")
    assert 'name="password"' not in first.text  # the code comes first
    step = submit(client, "/join", "/join", {"code": code})
    assert step.status_code == 200
    text = visible_text(step.text)
    assert "About Tend" in text and "I agree to use Tend as part of the group." in text
    assert "<script>" not in step.text  # raw HTML in a sheet is shown as text, never run
    assert 'name="password"' in step.text

    refused = client.post(
        "/join",
        data={**hidden_fields(step.text), "code": code, "password": PASSPHRASE, EVALUATION: "yes"},
    )
    assert refused.status_code == 422
    assert f'id="{USE}-error"' in refused.text  # the error sits next to the statement
    assert records(engine) == []
    assert (
        client.post(
            "/api/v1/auth/login", json={"login": "P-A1", "password": PASSPHRASE}
        ).status_code
        == 401
    )

    joined = client.post(
        "/join",
        data={**hidden_fields(refused.text), "code": code, "password": PASSPHRASE, USE: "yes"},
        follow_redirects=False,
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/today"
    [record] = records(engine)
    assert record.answers == {"required_1": True, "evaluation": False}
    assert record.method == ConsentMethod.app
    assert record.user_id == world.users["patient_a1"].id


def test_the_join_api_refuses_without_the_required_statement_and_stores_nothing(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    publish(client)
    code = invite(engine, settings, world)

    refused = client.post("/api/v1/auth/invite", json={"code": code, "password": PASSPHRASE})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", USE]
    assert records(engine) == []

    joined = client.post(
        "/api/v1/auth/invite",
        json={
            "code": code,
            "password": PASSPHRASE,
            "consents": {"required_1": True, "evaluation": True},
        },
    )
    assert joined.status_code == 200
    assert [r.answers for r in records(engine)] == [{"required_1": True, "evaluation": True}]


def test_joining_without_a_published_sheet_asks_for_no_consent(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    code = invite(engine, settings, world)
    response = submit(client, "/join", "/join", {"code": code, "password": PASSPHRASE})
    assert response.status_code == 303
    assert records(engine) == []


def test_a_new_version_is_asked_at_the_next_visit_and_nothing_changes_until_then(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    publish(client)
    code = invite(engine, settings, world)
    step = submit(client, "/join", "/join", {"code": code})
    client.post(
        "/join", data={**hidden_fields(step.text), "code": code, "password": PASSPHRASE, USE: "yes"}
    )
    assert client.get("/today", follow_redirects=False).status_code == 200

    client.cookies.clear()
    publish(client, sheet="# About Tend, version two\n\nWe now keep data for 2 years.")
    login(client, "P-A1", PASSPHRASE)
    asked = client.get("/today", follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/consent"
    page = client.get("/consent")
    assert "We now keep data for 2 years." in visible_text(page.text)

    refused = submit(client, "/consent", "/consent", {})
    assert refused.status_code == 422
    assert len(records(engine)) == 1
    assert (
        submit(client, "/consent", "/consent", {USE: "yes", EVALUATION: "yes"}).status_code == 303
    )
    assert client.get("/today", follow_redirects=False).status_code == 200
    versions = [r.document_id for r in records(engine)]
    assert len(set(versions)) == 2


def test_staff_record_paper_consent_marked_as_such(
    client: TestClient, world: World, engine: Engine
) -> None:
    publish(client)
    login(client, "fa@one.example")
    url = "/groups/GRP-A/patients/P-A1"
    assert "not recorded" in visible_text(client.get(url).text)

    response = submit(client, url, f"{url}/consent", {USE: "yes"})
    assert response.status_code == 303

    [record] = records(engine)
    assert record.method == ConsentMethod.paper
    assert record.recorded_by_id == world.users["facilitator_a"].id
    text = visible_text(client.get(url).text)
    assert "agreed" in text and "on paper" in text and "evaluation use: no" in text
    board = client.get("/api/v1/groups/GRP-A/board").json()
    assert {r["participant_code"]: r["consent"] for r in board["rows"]} == {
        "P-A1": "given",
        "P-A2": "missing",
    }
    assert "not recorded" in visible_text(client.get("/groups/GRP-A").text)
    # The patient is not asked again in the app for the version they signed.
    client.cookies.clear()
    login(client, "P-A1")
    assert client.get("/today", follow_redirects=False).status_code == 200


def test_only_admins_edit_the_sheet(client: TestClient, world: World) -> None:
    login(client, "clinician@one.example")
    assert client.get("/admin/consent").status_code == 403


def test_an_empty_sheet_is_refused_next_to_its_field(client: TestClient, world: World) -> None:
    login(client, "admin@one.example")
    response = submit(
        client,
        "/admin/consent",
        "/admin/consent",
        {"information_sheet": " ", "required_statements": "x"},
    )
    assert response.status_code == 422
    assert 'id="information_sheet-error"' in response.text
    assert "None yet" in visible_text(client.get("/admin/consent").text)


def test_a_whole_group_joins_through_the_two_steps_on_one_address(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    """Twelve patients on the clinic's Wi-Fi: each join counts once against the per-address
    limit (20 in 15 minutes), not once per step."""
    publish(client)
    with open_session(engine, write=True) as session:
        for n in range(3, 11):
            groups_service.enrol_patient(
                session, group=world.group_a, participant_code=f"P-A{n}", password_hash=None
            )
        session.commit()
        patients = session.exec(select(User).where(col(User.login).startswith("P-"))).all()
        codes = [
            auth_service.issue_invite(
                session, patient=p, issued_by=world.users["facilitator_a"], settings=settings
            )
            for p in patients
        ]
        session.commit()
    assert len(codes) == 12
    for code in codes:
        client.cookies.clear()
        step = submit(client, "/join", "/join", {"code": code})
        assert step.status_code == 200, step.text
        joined = client.post(
            "/join",
            data={**hidden_fields(step.text), "code": code, "password": PASSPHRASE, USE: "yes"},
            follow_redirects=False,
        )
        assert joined.status_code == 303, joined.text
    assert len(records(engine)) == 12


def test_a_forged_proof_of_a_checked_code_still_counts_against_the_limit(
    client: TestClient, world: World
) -> None:
    page = client.get("/join")
    statuses = [
        client.post(
            "/join",
            data={
                **hidden_fields(page.text),
                "code": "ZZZZ-ZZZZ-ZZZZ",
                "code_checked": "0" * 64,
                "password": PASSPHRASE,
            },
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
