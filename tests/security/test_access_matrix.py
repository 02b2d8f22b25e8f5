"""The access-control matrix: every route, every caller, objects they own and do not.

The declarations live in tests/security/matrix.py. A route of the app that is not declared
there fails test_every_route_is_declared, naming it.
"""

import itertools
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import col, select
from starlette.routing import Mount

from app import clock as app_clock
from app.auth import service as auth_service
from app.clinics.models import Clinic, User
from app.config import Settings
from app.db import create_db_engine, open_session
from app.exports import service as exports_service
from app.exports.service import ExportFormat, ExportRequest
from app.groups.models import Enrolment, EnrolmentStatus, Group, GroupSession
from app.main import create_app
from app.outcomes.models import SafetyFlag
from app.programme import service as programme_service
from app.programme.models import Programme
from app.reminders import service as reminders_service
from app.web.csrf import PRESESSION_COOKIE, PRESESSION_PREFIX, SESSION_COOKIE, csrf_token_for
from tests.factories import PASSWORD

from .databases import ENGINES, private_database
from .matrix import (
    ANON,
    AUDIENCE,
    CALLERS,
    PARENTS,
    ROUTE_TABLE,
    ROUTES,
    SECRETS,
    SIGNED_IN,
    Route,
)
from .world import CONTACTS, MatrixWorld, build_matrix_world

pytestmark = pytest.mark.xdist_group("access_matrix")
SECRET_KEY = "matrix-secret-key-that-is-long-enough"
REFUSED = {401, 403, 404}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app answers, mounts included."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts: Iterator[Any] = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI: included routes are plain routes
        contexts = iter(app.routes)
    found = set()
    for context in contexts:
        route = getattr(context, "original_route", context)
        if isinstance(route, Mount):
            found.add(("GET", context.path))
            continue
        for method in sorted(getattr(context, "methods", None) or {"GET"}):
            if method != "HEAD":
                found.add((method, context.path))
    return found


def test_every_route_is_declared() -> None:
    app = create_app(Settings(environment="test", secret_key=SECRET_KEY))
    routes = app_routes(app)
    undeclared = sorted(routes - set(ROUTE_TABLE))
    stale = sorted(set(ROUTE_TABLE) - routes)
    assert not undeclared, (
        f"Routes missing from tests/security/matrix.py ROUTES: {undeclared}. "
        "Declare who may call each, and which objects its path parameters name."
    )
    assert not stale, f"Declared in matrix.py but no longer served: {stale}"


def test_every_object_kind_has_instances() -> None:
    for r in ROUTES:
        for name, kind in r.params.items():
            assert kind in AUDIENCE, f"{r.method} {r.path}: {name} names unknown kind {kind!r}"
            assert f"{{{name}}}" in r.path
    for kind, (parent_kind, parents) in PARENTS.items():
        assert kind in AUDIENCE and parent_kind in AUDIENCE, kind
        assert set(parents) <= set(AUDIENCE[kind]), kind
        assert set(parents.values()) <= set(AUDIENCE[parent_kind]), kind


# --- The world, built once per engine -------------------------------------------------------


class Env:
    def __init__(self, app: FastAPI, mworld: MatrixWorld) -> None:
        self.app = app
        self.mworld = mworld
        self.clients: dict[str, TestClient] = {}
        self.path = ""  # the path being called, for body builders that depend on it

    def sign_in(self, caller: str) -> TestClient:
        """A client with a new server-side session of ``caller`` (the login route has its own
        tests; starting the session directly keeps the matrix free of password hashing)."""
        client = TestClient(self.app, base_url="http://testserver")
        client.__enter__()
        client.cookies.set(PRESESSION_COOKIE, f"matrix-{caller}")  # sign-in forms' CSRF
        if caller != ANON:
            user = self.mworld.world.users[self.mworld.user_keys[caller]]
            with open_session(self.app.state.engine, write=True) as session:
                token = auth_service.start_session(
                    session, user=user, settings=self.app.state.settings
                )
                session.commit()
            client.cookies.set(SESSION_COOKIE, token)
            client.headers["X-CSRF-Token"] = csrf_token_for(SECRET_KEY, token)
        return client

    def client(self, caller: str) -> TestClient:
        if caller not in self.clients:
            self.clients[caller] = self.sign_in(caller)
        return self.clients[caller]


@pytest.fixture(scope="module", params=ENGINES)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp(f"matrix-{request.param}")
    with private_database(request.param, folder) as url:
        settings = Settings(
            environment="test",
            database_url=url,
            data_dir=folder / "data",
            secret_key=SECRET_KEY,
            # The matrix signs in many times from one address; limits have their own tests.
            login_limit_per_account=10_000,
            login_limit_per_address=10_000,
            login_slowdown_after=10_000,
            invite_limit_per_code=10_000,
            invite_limit_per_address=10_000,
            export_limit_per_account=10_000,
            export_limit_per_address=10_000,
        )
        engine = create_db_engine(url)
        mworld = build_matrix_world(engine, settings)
        engine.dispose()
        app = create_app(settings)
        environment = Env(app, mworld)
        yield environment
        for client in environment.clients.values():
            client.__exit__(None, None, None)
        app.state.engine.dispose()


# --- Bodies for unsafe routes ---------------------------------------------------------------


def _csrf(client: TestClient) -> str:
    presession = PRESESSION_PREFIX + (client.cookies.get(PRESESSION_COOKIE) or "")
    return csrf_token_for(SECRET_KEY, client.cookies.get(SESSION_COOKIE) or presession)


def _login_of(env: Env, caller: str) -> str:
    return env.mworld.logins[caller] or env.mworld.logins["patient_a"]


BODIES: dict[str, Callable[[Env, str, TestClient], dict[str, Any]]] = {
    "own_credentials": lambda env, caller, client: {
        "json": {"login": _login_of(env, caller), "password": PASSWORD}
    },
    "own_credentials_form": lambda env, caller, client: {
        "data": {"login": _login_of(env, caller), "password": PASSWORD, "csrf_token": _csrf(client)}
    },
    "unknown_invite": lambda env, caller, client: {
        "json": {"code": "ZZZZ-ZZZZ-ZZZZ", "password": "a long enough passphrase"}
    },
    "unknown_invite_form": lambda env, caller, client: {
        "data": {
            "code": "ZZZZ-ZZZZ-ZZZZ",
            "password": "a long enough passphrase",
            "csrf_token": _csrf(client),
        }
    },
    "csrf_form": lambda env, caller, client: {"data": {"csrf_token": _csrf(client)}},
    "forgot_form": lambda env, caller, client: {
        "data": {"csrf_token": _csrf(client), "email": "someone@one.example"}
    },
    # English, the language every caller already speaks: the other routes' checks read English.
    "language_form": lambda env, caller, client: {
        "data": {"csrf_token": _csrf(client), "language": "en"}
    },
    "wrong_passphrase_form": lambda env, caller, client: {
        "data": {
            "csrf_token": _csrf(client),
            "current_password": "not the passphrase",
            "new_password": "a new passphrase",
        }
    },
    "staff_invite_form": lambda env, caller, client: {
        "data": {
            "csrf_token": _csrf(client),
            "email": f"new-{uuid.uuid4().hex[:8]}@one.example",
            "role": "facilitator",
        }
    },
    "withdraw_wrong_passphrase": lambda env, caller, client: {
        "json": {"erase": True, "password": "not the passphrase"}
    },
    "withdraw_form_wrong_passphrase": lambda env, caller, client: {
        "data": {"choice": "erase", "password": "not the passphrase", "csrf_token": _csrf(client)}
    },
    "practice_log": lambda env, caller, client: {
        "json": {
            "id": str(uuid.uuid4()),
            "exercise_id": env.mworld.exercise_id,
            "started_at": app_clock.now().isoformat(),
            "timezone": "Europe/London",
            "local_date": app_clock.now().date().isoformat(),
            "listened_seconds": 60,
            "completed": True,
        }
    },
    "check_in": lambda env, caller, client: {
        "json": {
            "id": str(uuid.uuid4()),
            "recorded_at": app_clock.now().isoformat(),
            "timezone": "Europe/London",
            "local_date": app_clock.now().date().isoformat(),
            "ratings": {"pain_intensity": 4, "pain_distress": 3, "mood": 6},
        }
    },
    "bad_day_form": lambda env, caller, client: {
        "data": {"csrf_token": _csrf(client), "on": "yes"}
    },
    "practice_form": lambda env, caller, client: {
        "data": {
            "csrf_token": _csrf(client),
            "id": str(uuid.uuid4()),
            "practice": str(env.mworld.exercise_id),
            "minutes": "5",
            "completed": "yes",
            "timezone": "Europe/London",
        }
    },
}


def _path_part(env: Env, index: int) -> str:
    """A segment of the path being called (for bodies that depend on the object named)."""
    return env.path.strip("/").split("/")[index]


def _group_code(env: Env) -> str:
    parts = env.path.strip("/").split("/")
    return parts[parts.index("groups") + 1]


def _rearm(env: Env) -> None:
    """Undo what earlier allowed calls did to the objects that a call changes for good (a
    withdrawal, a move, an acknowledgement), so that each allowed call does it for real."""
    with open_session(env.app.state.engine, write=True) as session:
        for enrolment_id, group_id in env.mworld.leavers.items():
            enrolment = session.get(Enrolment, enrolment_id)
            assert enrolment is not None
            enrolment.group_id = group_id
            enrolment.status = EnrolmentStatus.active
            enrolment.withdrawn_at = None
            session.add(enrolment)
        for flag_id in env.mworld.flag_ids:
            flag = session.get(SafetyFlag, flag_id)
            assert flag is not None
            flag.acknowledged_at = None
            flag.acknowledged_by_user_id = None
            session.add(flag)
        session.commit()


def _rearmed(body: dict[str, Any], env: Env) -> dict[str, Any]:
    _rearm(env)
    return body


def _subscribed(env: Env, caller: str) -> str:
    """A push endpoint of the caller's device, subscribed now if the caller is a patient (so
    forgetting it is real whichever order the calls run in)."""
    endpoint = f"https://fcm.googleapis.com/fcm/send/matrix-{caller}"
    if caller in SIGNED_IN:
        user = env.mworld.world.users[env.mworld.user_keys[caller]]
        with open_session(env.app.state.engine, write=True) as session:
            reminders_service.subscribe(
                session, user=user, endpoint=endpoint, p256dh="B" * 87, auth="a" * 22
            )
            session.commit()
    return endpoint


def _caller_clinic(env: Env, caller: str) -> int:
    key = env.mworld.user_keys[caller] or "patient_a1"
    return env.mworld.world.users[key].clinic_id


def _session_form(env: Env, client: TestClient) -> dict[str, Any]:
    """The meeting's own time and place again: a real save that leaves the world as it was."""
    code, number = _group_code(env), _path_part(env, 3)
    starts_at = ""
    with open_session(env.app.state.engine) as session:
        meeting = session.exec(
            select(GroupSession, Clinic)
            .join(Group, col(Group.id) == GroupSession.group_id)
            .join(Clinic, col(Clinic.id) == Group.clinic_id)
            .where(
                Group.code == code, GroupSession.number == (int(number) if number.isdigit() else 0)
            )
        ).first()
        if meeting is not None:
            zone = ZoneInfo(meeting[1].timezone)
            starts_at = meeting[0].starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    return {
        "data": {
            "csrf_token": _csrf(client),
            "starts_at": starts_at,
            "place": "Room 1",
            "action": "save",
        }
    }


def _adherence_now(env: Env) -> dict[str, str]:
    """The programme's adherence definition as it is: saving it is real and changes nothing."""
    with open_session(env.app.state.engine) as session:
        programme = session.exec(
            select(Programme).where(Programme.key == _path_part(env, 1))
        ).first()
        if programme is None:
            return {"minutes_per_day": "10", "days_per_week": "5", "completer_weeks": "1"}
        clinic_id = env.mworld.world.users["admin"].clinic_id
        rule = programme_service.adherence_rule(session, programme, clinic_id=clinic_id)
        return {
            "minutes_per_day": str(rule.minutes_per_day),
            "days_per_week": str(rule.days_per_week),
            "completer_weeks": str(min(rule.completer_weeks, rule.total_weeks)),
        }


def _present(env: Env) -> dict[str, str]:
    """Everyone in the group named in the path is present (participant code -> status)."""
    return dict.fromkeys(env.mworld.members.get(_group_code(env), {}), "present")


BODIES.update(
    {
        "reflection": lambda env, caller, client: {
            "json": {
                "kind": "weekly",
                "week_number": 1,
                # The patient's own words again (a resend from the outbox): the private text
                # stays in place for the secret scan whichever order the calls run in.
                "text": "Private words of patient " + ("B" if caller == "patient_b" else "A"),
                "share_with_group": False,
            }
        },
        "reflection_form": lambda env, caller, client: {
            "data": {
                "csrf_token": _csrf(client),
                "id": str(uuid.uuid4()),
                "kind": "weekly",
                "week_number": str(env.mworld.weekly_reflection_week),
                "text": "What I noticed this week",
            }
        },
        "reminder_preferences": lambda env, caller, client: {
            "json": {
                "practice": True,
                "time_of_day": "08:00",
                "days": [0, 2, 4],
                "timezone": "Europe/London",
            }
        },
        "push_subscription": lambda env, caller, client: {
            "json": {
                "endpoint": f"https://fcm.googleapis.com/fcm/send/matrix-{caller}",
                "keys": {"p256dh": "B" * 87, "auth": "a" * 22},
                "device_label": "Phone",
            }
        },
        "push_unsubscribe": lambda env, caller, client: {
            "json": {"endpoint": _subscribed(env, caller)}
        },
        "reminders_form": lambda env, caller, client: {
            "data": {
                "csrf_token": _csrf(client),
                "practice": "yes",
                "time_of_day": "08:00",
                "days": ["0", "3"],
                "timezone": "Europe/London",
            }
        },
        "answers": lambda env, caller, client: {"json": {"answers": {"pain": 4}}},
        "submitted_answers": lambda env, caller, client: {"json": {"answers": {"distress": 3}}},
        "questionnaire_draft_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), "action": "save", "q_pain": "5"}
        },
        "new_group_form": lambda env, caller, client: {
            "data": {
                "csrf_token": _csrf(client),
                "programme": env.mworld.objects["programme"]["clinic-one-programme"],
                "code": f"NEW-{uuid.uuid4().hex[:8]}",
                "name": "A new group",
                "start_date": app_clock.now().date().isoformat(),
                "first_session": f"{app_clock.now().date().isoformat()}T18:00",
                "place": "Room 2",
            }
        },
        "enrol_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), "participant_code": f"P-{uuid.uuid4().hex[:8]}"}
        },
        "week_unlock_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), "week": "1", "state": "auto"}
        },
        "invites_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), "participants": ["P-A2", "P-B2", "P-X1"]}
        },
        "session_form": lambda env, caller, client: _session_form(env, client),
        "register_form": lambda env, caller, client: {
            "data": {
                "csrf_token": _csrf(client),
                **{
                    f"attendance-{enrolment_id}": "present"
                    for enrolment_id in env.mworld.members.get(_group_code(env), {}).values()
                },
            }
        },
        "attendance": lambda env, caller, client: {"json": {"attendance": _present(env)}},
        "withdraw_form": lambda env, caller, client: _rearmed(
            {"data": {"csrf_token": _csrf(client), "reason": "Moved away"}}, env
        ),
        "move_form": lambda env, caller, client: _rearmed(
            {
                "data": {
                    "csrf_token": _csrf(client),
                    "to_group": env.mworld.move_to[_caller_clinic(env, caller)],
                    "move_reason": "Evenings suit them better",
                }
            },
            env,
        ),
        "code_comment_form": lambda env, caller, client: {
            "data": {
                "csrf_token": _csrf(client),
                "themes": [str(env.mworld.themes.get(_group_code(env), 0))],
            }
        },
        "new_theme_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), "label": f"Theme {uuid.uuid4().hex[:8]}"}
        },
        "theme_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), "label": "Connection", "description": "Others"}
        },
        "paper_form": lambda env, caller, client: {
            "data": {
                "csrf_token": _csrf(client),
                "instrument": "pseq",
                "timepoint": "baseline",
                "total": "31",
                "correction": "yes",
            }
        },
        "acknowledge_form": lambda env, caller, client: _rearmed(
            {"data": {"csrf_token": _csrf(client), "action": "contacted_patient"}}, env
        ),
        "adherence_form": lambda env, caller, client: {
            "data": {"csrf_token": _csrf(client), **_adherence_now(env)}
        },
    }
)


# --- The matrix -----------------------------------------------------------------------------


def _instances(env: Env, r: Route) -> list[tuple[str, dict[str, str], frozenset[str]]]:
    """Every combination of named objects for the path parameters, with its audience."""
    if not r.params:
        return [("", {}, frozenset(CALLERS))]
    names = list(r.params)
    choices = [list(AUDIENCE[r.params[name]].items()) for name in names]
    out = []
    for combo in itertools.product(*choices):
        values = {
            name: env.mworld.objects[r.params[name]][object_name]
            for name, (object_name, _) in zip(names, combo, strict=True)
        }
        audience = frozenset.intersection(*(aud for _, aud in combo))
        chosen = {
            r.params[name]: object_name for name, (object_name, _) in zip(names, combo, strict=True)
        }
        for kind, object_name in chosen.items():
            parent_kind, parents = PARENTS.get(kind, ("", {}))
            if parent_kind in chosen and parents.get(object_name) != chosen[parent_kind]:
                audience = frozenset()  # names a child under a parent it does not belong to
        label = ", ".join(
            f"{name}={object_name}" for name, (object_name, _) in zip(names, combo, strict=True)
        )
        out.append((label, values, audience))
    return out


def _refused(response: Response, r: Route) -> bool:
    if response.status_code in REFUSED:
        return True
    # A protected page sends an anonymous browser to sign in; a public one may do so anyway.
    location = response.headers.get("location", "")
    return (
        ANON not in r.callers
        and response.status_code in (302, 303)
        and location.startswith("/login")
    )


def _secrets_for(env: Env) -> dict[str, frozenset[str]]:
    logs = env.mworld.objects["practice_log"]
    return {logs.get(text, text): audience for text, audience in SECRETS.items()}


def _call(env: Env, r: Route, caller: str, path: str) -> Response:
    client = env.sign_in(caller) if r.fresh else env.client(caller)
    env.path = path
    kwargs = BODIES[r.body](env, caller, client) if r.body else {}
    if r.path == "/static":
        path = "/static/css/app.css"
    try:
        return client.request(r.method, path, follow_redirects=False, **kwargs)
    finally:
        if r.fresh:
            client.__exit__(None, None, None)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("declared", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_access(env: Env, declared: Route, caller: str) -> None:
    failures = []
    secrets = _secrets_for(env)
    # Signing in from a fresh browser makes that browser patient A.
    signs_in_as_a = caller == ANON and (declared.body or "").startswith("own_credentials")
    reader = "patient_a" if signs_in_as_a else caller
    for label, values, audience in _instances(env, declared):
        path = declared.path.format(**values)
        response = _call(env, declared, caller, path)
        where = f"{declared.method} {path} ({label or 'no object'}) as {caller}"
        allowed = caller in declared.callers and caller in audience
        status = response.status_code
        if allowed and (
            _refused(response, declared) or (status >= 400 and status not in declared.ok_status)
        ):
            failures.append(f"{where}: expected to be let in, got {status} {response.text[:120]}")
        if not allowed and not _refused(response, declared):
            failures.append(f"{where}: expected a refusal (401/403/404), got {status}")
        if response.headers.get("content-type", "").startswith(("text/", "application/json")):
            answer = re.sub(declared.typed, "", response.text) if declared.typed else response.text
            for text, readers in secrets.items():
                if reader not in readers and _shows(answer, text):
                    failures.append(f"{where}: answer contains {text!r}, not theirs to see")
    assert not failures, "\n".join(failures)


def _shows(answer: str, text: str) -> bool:
    """``text`` as a token of its own: a random invite code such as QRSP-A1XY-Z2K9 is not
    participant P-A1."""
    return re.search(rf"(?<![\w-]){re.escape(text)}(?![\w-])", answer) is not None


def test_a_secret_counts_only_as_a_token_of_its_own() -> None:
    assert _shows("<td>P-A1</td>", "P-A1")
    assert _shows('{"participant_code":"P-A1"}', "P-A1")
    assert _shows("/patients/P-A1/outcomes", "P-A1")
    assert not _shows("<code>QRSP-A1XY-Z2K9</code>", "P-A1")
    assert not _shows("P-A10", "P-A1")


def test_no_export_carries_a_patients_name_or_contact_details(
    env: Env, tmp_path_factory: pytest.TempPathFactory
) -> None:
    contacts = [text for contact in CONTACTS.values() for text in contact]
    carried = []
    engine = env.app.state.engine
    for caller in ("clinician", "other_clinician"):
        for export_format in ExportFormat:
            out = tmp_path_factory.mktemp(f"export-{caller}-{export_format.value}")
            with open_session(engine, write=True) as session:
                actor = session.exec(
                    select(User).where(User.login == env.mworld.logins[caller])
                ).one()
                request = ExportRequest(format=export_format, free_text=True)
                exports_service.run_export(session, actor=actor, request=request, out_dir=out)
                session.rollback()  # the audit event is not what this test is about
            texts = dict(_export_texts(out))
            # The scan reads the real content: the participants are there, by code.
            code = "p-a1" if caller == "clinician" else "p-x1"
            assert any(code in text for text in texts.values()), (caller, export_format)
            for name, text in texts.items():
                carried += [f"{caller} {name}: {c}" for c in contacts if c.lower() in text]
    assert carried == []


def _export_texts(folder: Path) -> Iterator[tuple[str, str]]:
    """Every file an export wrote, as lower-case text; zip members (an XLSX) opened."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield (
                        f"{path.name}/{member}",
                        archive.read(member).decode("utf-8", "replace").lower(),
                    )
        else:
            yield path.name, path.read_bytes().decode("utf-8", "replace").lower()
