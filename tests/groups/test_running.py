"""Running a group from the pages: who may see what, set-up, enrolment, invites, register,
sessions and week unlocks."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import open_session
from app.groups.models import Attendance, Enrolment, EnrolmentContact, GroupSession
from tests.factories import World, login
from tests.groups.conftest import add_weekly_sessions
from tests.pages import hidden_fields, submit, visible_text
from tests.qr import decode_qr_codes

GROUP_PAGES = [
    "/groups/{code}",
    "/groups/{code}/manage",
    "/groups/{code}/invites",
    "/groups/{code}/sessions/1",
    "/groups/{code}/sessions/1/register",
    "/groups/{code}/sessions/1/prep",
    "/groups/{code}/patients/{patient}",
    "/groups/{code}/words",
    "/api/v1/groups/{code}/board",
    "/api/v1/groups/{code}/sessions/1/attendance",
]


@pytest.fixture
def sessions(engine: Engine, world: World) -> World:
    add_weekly_sessions(engine, world.group_a, 2)
    add_weekly_sessions(engine, world.group_b, 2)
    return world


def _urls(code: str, patient: str) -> list[str]:
    return [page.format(code=code, patient=patient) for page in GROUP_PAGES]


@pytest.mark.parametrize(
    ("login_name", "sees_a", "sees_b"),
    [
        ("fa@one.example", True, False),
        ("fb@one.example", False, True),
        ("clinician@one.example", True, True),
        ("admin@one.example", True, True),
        ("clinician@two.example", False, False),
    ],
)
def test_every_group_page_is_scoped_to_role_and_clinic(
    client: TestClient, sessions: World, login_name: str, sees_a: bool, sees_b: bool
) -> None:
    login(client, login_name)
    for url in _urls("GRP-A", "P-A1"):
        assert client.get(url).status_code == (200 if sees_a else 404), url
    for url in _urls("GRP-B", "P-B1"):
        assert client.get(url).status_code == (200 if sees_b else 404), url


def test_patients_cannot_reach_staff_pages(client: TestClient, sessions: World) -> None:
    login(client, "P-A1")
    for url in [*_urls("GRP-A", "P-A1"), "/groups/new", "/codebook"]:
        assert client.get(url).status_code == 403, url


def test_a_patient_of_another_group_is_not_found_through_this_group(
    client: TestClient, sessions: World
) -> None:
    login(client, "fa@one.example")
    assert client.get("/groups/GRP-A/patients/P-B1").status_code == 404


def test_a_facilitator_starts_a_group_with_weekly_sessions(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    response = submit(
        client,
        "/groups/new",
        "/groups/new",
        {
            "programme": "test-programme",
            "code": "thu-autumn",
            "name": "Thursday group",
            "start_date": "2026-03-02",
            "first_session": "2026-03-05T14:00",
            "place": "https://video.example/room",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/groups/THU-AUTUMN/manage"
    page = visible_text(client.get("/groups/THU-AUTUMN/manage").text)
    assert "Thu 05 Mar 2026, 14:00" in page and "Thu 12 Mar 2026, 14:00" in page
    assert "https://video.example/room" in page
    # The facilitator runs it, so it is on their list; the other facilitator cannot see it.
    assert "THU-AUTUMN" in visible_text(client.get("/groups").text)
    login(client, "fb@one.example")
    assert client.get("/groups/THU-AUTUMN").status_code == 404
    with open_session(engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert "group_created" in actions


def test_bad_group_form_shows_errors_next_to_fields_and_creates_nothing(
    client: TestClient, world: World
) -> None:
    login(client, "fa@one.example")
    response = submit(
        client,
        "/groups/new",
        "/groups/new",
        {
            "programme": "test-programme",
            "code": "GRP-A",
            "name": "Again",
            "start_date": "2026-03-02",
            "first_session": "2026-03-05T14:00",
        },
    )
    assert response.status_code == 422
    assert "already exists" in response.text and 'value="GRP-A"' in response.text
    response = submit(
        client,
        "/groups/new",
        "/groups/new",
        {"programme": "test-programme", "code": "NEW-1", "name": "New", "start_date": "soon"},
    )
    assert response.status_code == 422
    assert 'id="start_date-error"' in response.text
    assert client.get("/groups/NEW-1").status_code == 404


def test_enrolling_keeps_name_and_contact_apart(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    response = submit(
        client,
        "/groups/GRP-A/manage",
        "/groups/GRP-A/patients",
        {"participant_code": "p-a9", "name": "Jo Bloggs", "email": "jo@example.org"},
    )
    assert response.status_code == 303
    page = visible_text(client.get("/groups/GRP-A/manage").text)
    assert "P-A9" in page and "Jo Bloggs" in page
    with open_session(engine) as session:
        enrolment = session.exec(
            select(Enrolment).where(Enrolment.participant_code == "P-A9")
        ).one()
        contact = session.get(EnrolmentContact, enrolment.id)
        assert contact is not None and contact.email == "jo@example.org"
    # A taken code is refused next to the field, and nothing is added.
    response = submit(
        client, "/groups/GRP-A/manage", "/groups/GRP-A/patients", {"participant_code": "P-A9"}
    )
    assert response.status_code == 422 and 'id="participant_code-error"' in response.text


def test_withdraw_needs_a_reason_and_is_audited(
    client: TestClient, sessions: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    url = "/groups/GRP-A/patients/P-A2"
    response = submit(client, url, f"{url}/withdraw", {"reason": "  "})
    assert response.status_code == 422 and 'id="reason-error"' in response.text
    response = submit(client, url, f"{url}/withdraw", {"reason": "Moved away"})
    assert response.status_code == 303
    assert "Withdrawn: Moved away" in visible_text(client.get(url).text)
    with open_session(engine) as session:
        enrolment = session.exec(
            select(Enrolment).where(Enrolment.participant_code == "P-A2")
        ).one()
        assert enrolment.status == "withdrawn" and enrolment.withdrawn_at is not None
        actions = session.exec(select(AuditEvent.action)).all()
    assert "enrolment_withdrawn" in actions
    # The withdrawn patient can no longer use the patient app.
    login(client, "P-A2")
    assert client.get("/api/v1/programme").status_code == 403


def test_moving_a_patient_only_to_a_group_one_runs(
    client: TestClient, sessions: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    url = "/groups/GRP-A/patients/P-A1"
    # Facilitator A does not run GRP-B: it is not offered and a forged post is refused.
    assert "GRP-B" not in client.get(url).text
    response = submit(client, url, f"{url}/move", {"to_group": "GRP-B", "move_reason": "x"})
    assert response.status_code == 422
    login(client, "clinician@one.example")
    response = submit(
        client, url, f"{url}/move", {"to_group": "GRP-B", "move_reason": "Can't do Tuesdays"}
    )
    assert response.status_code == 303
    assert client.get("/groups/GRP-B/patients/P-A1").status_code == 200
    assert client.get(url).status_code == 404


def test_viewing_a_patient_is_audited(client: TestClient, sessions: World, engine: Engine) -> None:
    login(client, "fa@one.example")
    client.get("/groups/GRP-A/patients/P-A1")
    with open_session(engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "view_patient_detail")
        ).one()
    assert event.object_type == "enrolment"
    assert event.object_id == str(sessions.enrolments["A1"].id)


def _codes_on_sheet(html: str) -> list[str]:
    return re.findall(r"<strong>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</strong>", html)


def test_invite_sheet_codes_work_at_join_and_revoked_codes_do_not(
    client: TestClient, sessions: World, tmp_path: Path
) -> None:
    login(client, "fa@one.example")
    sheet = client.post(
        "/groups/GRP-A/invites",
        data={
            **hidden_fields(client.get("/groups/GRP-A/invites").text),
            "participants": ["P-A1", "P-A2"],
        },
    )
    assert sheet.status_code == 200
    codes = _codes_on_sheet(sheet.text)
    assert len(codes) == 2
    assert sheet.text.count("<svg") == 2  # one QR code each
    # Each QR code, read as a phone would, is the /join link with that patient's code in the
    # fragment (never sent to the server, so never in an access log); old ?code= printouts
    # still work below.
    assert decode_qr_codes(sheet.text, tmp_path) == [
        f"http://testserver/join#code={code}" for code in codes
    ]

    # P-A2's code is revoked from their page; P-A1's still works.
    url = "/groups/GRP-A/patients/P-A2"
    assert "code issued, not used yet" in visible_text(client.get(url).text)
    assert submit(client, url, f"{url}/revoke-invite", {}).status_code == 303
    assert "code revoked" in visible_text(client.get(url).text)

    client.cookies.clear()
    results = {}
    for code in codes:
        response = submit(
            client, f"/join?code={code}", "/join", {"code": code, "password": "a calm blue river"}
        )
        results[code] = response.status_code
        client.cookies.clear()
    assert sorted(results.values()) == [303, 422]
    login(client, "P-A1", "a calm blue river")


def test_register_saves_and_updates_with_one_row_per_patient(
    client: TestClient, sessions: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    a1, a2 = sessions.enrolments["A1"].id, sessions.enrolments["A2"].id
    url = "/groups/GRP-A/sessions/1/register"
    response = submit(
        client, url, url, {f"attendance-{a1}": "present", f"attendance-{a2}": "apologies"}
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Register saved." in page.text
    assert f'name="attendance-{a1}" value="present" checked' in page.text
    response = submit(client, url, url, {f"attendance-{a1}": "absent"})
    assert response.status_code == 303
    api = client.get("/api/v1/groups/GRP-A/sessions/1/attendance").json()
    assert api["attendance"] == {"P-A1": "absent", "P-A2": "apologies"}
    with open_session(engine) as session:
        rows = session.exec(select(func.count()).select_from(Attendance)).one()
    assert rows == 2
    # A value outside the three is refused and changes nothing.
    response = submit(client, url, url, {f"attendance-{a1}": "late"})
    assert response.status_code == 422
    assert (
        client.get("/api/v1/groups/GRP-A/sessions/1/attendance").json()["attendance"]["P-A1"]
        == "absent"
    )


def test_register_api_names_the_bad_field(client: TestClient, sessions: World) -> None:
    login(client, "fa@one.example")
    response = client.put(
        "/api/v1/groups/GRP-A/sessions/1/attendance", json={"attendance": {"P-A1": "late"}}
    )
    assert response.status_code == 422
    response = client.put(
        "/api/v1/groups/GRP-A/sessions/1/attendance", json={"attendance": {"P-B1": "present"}}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "attendance", "P-B1"]
    response = client.put(
        "/api/v1/groups/GRP-A/sessions/1/attendance", json={"attendance": {"p-a1": "present"}}
    )
    assert response.status_code == 200 and response.json()["attendance"] == {"P-A1": "present"}


def test_moving_and_cancelling_a_session(
    client: TestClient, sessions: World, engine: Engine
) -> None:
    login(client, "fa@one.example")
    url = "/groups/GRP-A/sessions/2"
    response = submit(
        client, url, url, {"starts_at": "2030-01-08T18:15", "place": "Library", "action": "save"}
    )
    assert response.status_code == 303
    response = submit(
        client, url, url, {"starts_at": "2030-01-08T18:15", "place": "Library", "action": "cancel"}
    )
    assert response.status_code == 303
    page = visible_text(client.get("/groups/GRP-A/manage").text)
    assert "Tue 08 Jan 2030, 18:15" in page and "cancelled" in page and "Library" in page
    with open_session(engine) as session:
        meeting = session.exec(
            select(GroupSession).where(
                GroupSession.group_id == sessions.group_a.id, GroupSession.number == 2
            )
        ).one()
        assert meeting.cancelled and meeting.starts_at.hour == 18  # 18:15 GMT is 18:15 UTC
        changes = session.exec(
            select(AuditEvent).where(AuditEvent.action == "group_session_changed")
        ).all()
    assert len(changes) == 2
    response = submit(client, url, url, {"starts_at": "next week", "place": "", "action": "save"})
    assert response.status_code == 422 and 'id="starts_at-error"' in response.text


def _week_unlocked(client: TestClient, number: int) -> bool:
    weeks = client.get("/api/v1/programme").json()["weeks"]
    return next(w["unlocked"] for w in weeks if w["number"] == number)


def test_week_override_changes_what_the_patient_programme_says(
    app,
    engine: Engine,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    # started 10 days ago: week 1 and 2 are open by date; nothing is closed by hand yet.
    with TestClient(app) as staff, TestClient(app) as patient:
        login(staff, "fa@one.example")
        login(patient, "P-A1")
        assert _week_unlocked(patient, 2) is True
        url = "/groups/GRP-A/manage"
        assert (
            submit(staff, url, "/groups/GRP-A/weeks", {"week": "2", "state": "closed"}).status_code
            == 303
        )
        assert _week_unlocked(patient, 2) is False
        assert "closed (set by hand)" in visible_text(staff.get(url).text)
        assert (
            submit(staff, url, "/groups/GRP-A/weeks", {"week": "2", "state": "auto"}).status_code
            == 303
        )
        assert _week_unlocked(patient, 2) is True
        # Out-of-range weeks are refused.
        assert (
            submit(staff, url, "/groups/GRP-A/weeks", {"week": "9", "state": "open"}).status_code
            == 422
        )


@pytest.mark.world(started_days_ago=2)
def test_a_week_opens_early_by_hand(app, world: World) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as staff, TestClient(app) as patient:
        login(staff, "fa@one.example")
        login(patient, "P-A1")
        assert _week_unlocked(patient, 2) is False
        submit(staff, "/groups/GRP-A/manage", "/groups/GRP-A/weeks", {"week": "2", "state": "open"})
        assert _week_unlocked(patient, 2) is True


def test_a_clinician_starts_a_group_for_a_facilitator(
    client: TestClient, world: World, engine: Engine
) -> None:
    login(client, "clinician@one.example")
    facilitator_b = world.users["facilitator_b"].id
    form = {
        "programme": "test-programme",
        "code": "WED-1",
        "name": "Wednesday group",
        "start_date": "2026-03-04",
        "first_session": "2026-03-04T10:00",
        "facilitators": str(facilitator_b),
    }
    other_clinic = world.users["other_clinician"].id
    refused = submit(
        client, "/groups/new", "/groups/new", {**form, "facilitators": str(other_clinic)}
    )
    assert refused.status_code == 422 and "Choose facilitators from your clinic." in refused.text
    assert submit(client, "/groups/new", "/groups/new", form).status_code == 303
    login(client, "fb@one.example")
    assert client.get("/groups/WED-1").status_code == 200
    login(client, "fa@one.example")
    assert client.get("/groups/WED-1").status_code == 404


def test_names_contacts_and_withdrawal_reasons_stay_out_of_the_default_export(
    client: TestClient, sessions: World, engine: Engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from app.exports import service as exports_service

    login(client, "fa@one.example")
    submit(
        client,
        "/groups/GRP-A/manage",
        "/groups/GRP-A/patients",
        {
            "participant_code": "P-A7",
            "name": "Zed Uniquename",
            "email": "zed@example.org",
            "phone": "07700 900123",
        },
    )
    url = "/groups/GRP-A/patients/P-A7"
    submit(client, url, f"{url}/withdraw", {"reason": "Private circumstances"})
    with open_session(engine, write=True) as session:
        clinician = session.get(type(sessions.users["clinician"]), sessions.users["clinician"].id)
        result = exports_service.write_bundle(session, actor=clinician, out_dir=tmp_path / "bundle")
        session.commit()
    exported = "".join(p.read_text() for p in result.directory.iterdir() if p.is_file())
    for secret in ("Zed Uniquename", "zed@example.org", "07700 900123", "Private circumstances"):
        assert secret not in exported
