"""Who may call each route, on which objects: THE access-control declaration table.

Every route of the app must have exactly one entry here (method + path template), or
test_access_matrix fails naming it. An entry says which callers may reach the route and,
for each path parameter, which kind of object it names; the caller must also be in that
object's audience (AUDIENCE). Everyone else must be refused (401/403/404, or the sign-in
page for an anonymous browser) and never get someone else's data.

Adding a route: add a line to ROUTES; if its path names a new kind of object, add the kind
to AUDIENCE and create its instances in tests/security/world.py (``objects``); if it needs a
body, add a builder to BODIES in test_access_matrix.py.
"""

from dataclasses import dataclass, field

ANON, PA, PB, FA, FB, CL, CL2, ADMIN = CALLERS = (
    "anonymous",
    "patient_a",  # P-A1 in group A
    "patient_b",  # P-A2, the same group
    "facilitator_a",  # runs group A
    "facilitator_b",  # runs group B (same clinic)
    "clinician",  # clinic one
    "other_clinician",  # clinic two
    "admin",  # clinic one
)
EVERYONE = frozenset(CALLERS)
SIGNED_IN = EVERYONE - {ANON}
PATIENTS = frozenset({PA, PB})
STAFF = frozenset({FA, FB, CL, CL2, ADMIN})
CLINICIANS = frozenset({CL, CL2, ADMIN})
CLINIC_ONE = frozenset({PA, PB, FA, FB, CL, ADMIN})

# Objects the test world creates, by kind and name, with who may reach each (their audience).
AUDIENCE: dict[str, dict[str, frozenset[str]]] = {
    "group": {  # path value: the group code
        "GRP-A": frozenset({FA, CL, ADMIN}),
        "GRP-B": frozenset({FB, CL, ADMIN}),
        "GRP-X": frozenset({CL2}),  # clinic two's group
    },
    "exercise": {  # path value: the exercise id
        "in-clinic-one-programme": CLINIC_ONE,
        "in-another-programme": frozenset({CL2}),
        "missing": frozenset(),
    },
    "rendition": {  # path value: the rendition filename
        "clinic-one-recording": CLINIC_ONE,
        "clinic-two-recording": frozenset({CL2}),
        "shipped-recording": SIGNED_IN,  # clinic_id NULL: the default for every clinic
        "missing": frozenset(),
    },
    "practice_log": {  # path value: the log's UUID
        "log-of-patient-a": frozenset({PA, FA, CL, ADMIN}),
        "log-of-patient-b": frozenset({PB, FA, CL, ADMIN}),
        "log-in-group-b": frozenset({FB, CL, ADMIN}),
    },
    "enrolment": {  # path value: the enrolment id
        "patient-a": frozenset({PA, FA, CL, ADMIN}),
        "patient-b": frozenset({PB, FA, CL, ADMIN}),
        "patient-in-group-b": frozenset({FB, CL, ADMIN}),
        "patient-in-clinic-two": frozenset({CL2}),
    },
}

# Text that may appear only in answers to these callers (checked in every answer).
SECRETS: dict[str, frozenset[str]] = {
    "P-A1": frozenset({PA, FA, CL, ADMIN}),
    "P-B1": frozenset({FB, CL, ADMIN}),
    "P-X1": frozenset({CL2}),
    "Xavier Private-Name": frozenset(),  # identifying details are never shown on these routes
    "log-of-patient-a": frozenset({PA}),  # replaced by the log's UUID at run time
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    callers: frozenset[str]
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> object kind
    body: str | None = None  # name of a builder in test_access_matrix.BODIES
    fresh: bool = False  # signs in or out: use a fresh client
    ok_status: frozenset[int] = frozenset()  # besides 2xx/3xx, what counts as "let in"


def route(
    method: str,
    path: str,
    callers: frozenset[str],
    *,
    body: str | None = None,
    fresh: bool = False,
    ok: frozenset[int] = frozenset(),
    **params: str,
) -> Route:
    return Route(method, path, callers, dict(params), body, fresh, ok)


ROUTES = [
    # Plumbing and docs: public on purpose.
    route("GET", "/", EVERYONE),
    route("GET", "/healthz", EVERYONE),
    route("GET", "/manifest.webmanifest", EVERYONE),
    route("GET", "/sw.js", EVERYONE),
    route("GET", "/openapi.json", EVERYONE),
    route("GET", "/api/docs", EVERYONE),
    route("GET", "/docs/oauth2-redirect", EVERYONE),
    route("GET", "/static", EVERYONE),  # the mount: CSS, JS, icons
    # Signing in and out.
    route("POST", "/api/v1/auth/login", EVERYONE, body="own_credentials", fresh=True),
    route("POST", "/api/v1/auth/invite", EVERYONE, body="unknown_invite", fresh=True, ok={422}),
    route("POST", "/api/v1/auth/logout", EVERYONE, fresh=True),
    route("GET", "/api/v1/auth/me", SIGNED_IN),
    route("GET", "/login", EVERYONE),
    route("POST", "/login", EVERYONE, body="own_credentials_form", fresh=True),
    route("POST", "/logout", EVERYONE, body="csrf_form", fresh=True),
    route("GET", "/join", EVERYONE),
    route("POST", "/join", EVERYONE, body="unknown_invite_form", fresh=True, ok={422}),
    # The patient app.
    route("GET", "/api/v1/programme", PATIENTS),
    route("GET", "/api/v1/practice-logs", PATIENTS),
    route("POST", "/api/v1/practice-logs", PATIENTS, body="practice_log"),
    route("POST", "/api/v1/check-ins", PATIENTS, body="check_in"),
    route("GET", "/today", PATIENTS),
    route("POST", "/today/practice", PATIENTS, body="practice_form"),
    route("GET", "/exercises/{exercise_id}/transcript", PATIENTS, exercise_id="exercise"),
    route("GET", "/media/{filename}", SIGNED_IN, filename="rendition"),
    # Staff.
    route("GET", "/groups", STAFF),
    route("GET", "/groups/{code}", STAFF, code="group"),
    route("GET", "/exports", CLINICIANS),
    route("POST", "/exports", CLINICIANS, body="csrf_form"),
]

ROUTE_TABLE = {(r.method, r.path): r for r in ROUTES}
assert len(ROUTE_TABLE) == len(ROUTES), "a route is declared twice"
