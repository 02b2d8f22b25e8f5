"""Who may call each route, on which objects: THE access-control declaration table.

Every route of the app must have exactly one entry here (method + path template), or
test_access_matrix fails naming it. An entry says which callers may reach the route and,
for each path parameter, which kind of object it names; the caller must also be in that
object's audience (AUDIENCE). Everyone else must be refused (401/403/404, or the sign-in
page for an anonymous browser) and never get someone else's data.

Adding a route: add a line to ROUTES; if its path names a new kind of object, add the kind
to AUDIENCE and create its instances in tests/security/world.py (``objects``); if those
objects belong to another object named in the same path (a participant of a group), say so in
PARENTS; if it needs a body, add a builder to BODIES in test_access_matrix.py.
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
ADMINS = frozenset({ADMIN})

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
    "any_exercise": {  # the same exercises, for routes that take any programme's exercise
        "in-clinic-one-programme": EVERYONE,
        "in-another-programme": EVERYONE,
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
    "participant": {  # path value: the participant code (staff routes)
        "P-A1": frozenset({FA, CL, ADMIN}),
        "P-B1": frozenset({FB, CL, ADMIN}),
        "P-X1": frozenset({CL2}),
        "P-NOBODY": frozenset(),
    },
    "leaver": {  # path value: a participant code withdrawn or moved (reset before each call)
        "P-A3": frozenset({FA, CL, ADMIN}),
        "P-B3": frozenset({FB, CL, ADMIN}),
        "P-X3": frozenset({CL2}),
    },
    "session_number": {  # path value: a meeting number; every group in the world has 1..8
        "first": EVERYONE,
        "missing": frozenset(),
    },
    "comment": {  # path value: the id of a reflection shared with the group (for coding)
        "comment-in-group-a": frozenset({FA, CL, ADMIN}),
        "comment-in-group-b": frozenset({FB, CL, ADMIN}),
        "comment-in-group-x": frozenset({CL2}),
    },
    "theme": {  # path value: a codebook theme id
        "clinic-one-theme": frozenset({FA, FB, CL, ADMIN}),
        "clinic-two-theme": frozenset({CL2}),
        "missing": frozenset(),
    },
    "undoable_log": {  # path value: a practice log UUID never stored (undo is then a no-op)
        "never-stored": PATIENTS,
    },
    "reflection": {  # path value: a private reflection's UUID
        "private-of-patient-a": frozenset({PA}),
        "private-of-patient-b": frozenset({PB}),
    },
    "administration": {  # path value: a submitted questionnaire's id
        "of-patient-a": frozenset({PA}),
        "of-patient-b": frozenset({PB}),
        "in-group-b": frozenset(),
        "in-clinic-two": frozenset(),
    },
    "instrument": {  # path value: an instrument id due for group A's patients this week
        "due-this-week": PATIENTS,
        "unknown": frozenset(),
    },
    "submittable": {  # path value: an instrument id the patients send (once each) this week
        "due-this-week": PATIENTS,
        "unknown": frozenset(),
    },
    "timepoint": {  # path value: a timepoint; group A is in its second week
        "this-week": PATIENTS,
    },
    "safety_flag": {  # path value: a safety flag id (re-opened before each call)
        "in-group-a": frozenset({FA, CL, ADMIN}),
        "in-group-b": frozenset({FB, CL, ADMIN}),
        "in-group-x": frozenset({CL2}),
        "missing": frozenset(),
    },
    "staff_member": {  # path value: a staff account's user id (not any caller's own)
        "in-clinic-one": ADMINS,
        "in-clinic-two": frozenset(),  # clinic two has no admin among the callers
        "missing": frozenset(),
    },
    "programme": {  # path value: a programme key (programmes are installation-wide)
        "clinic-one-programme": frozenset({ADMIN}),
        "missing": frozenset(),
    },
}

# Objects that belong to another object named in the same path: a combination that pairs
# one with a parent it does not belong to names nothing (audience: nobody).
PARENTS: dict[str, tuple[str, dict[str, str]]] = {
    "participant": ("group", {"P-A1": "GRP-A", "P-B1": "GRP-B", "P-X1": "GRP-X"}),
    "leaver": ("group", {"P-A3": "GRP-A", "P-B3": "GRP-B", "P-X3": "GRP-X"}),
    "comment": (
        "group",
        {
            "comment-in-group-a": "GRP-A",
            "comment-in-group-b": "GRP-B",
            "comment-in-group-x": "GRP-X",
        },
    ),
}

# Text that may appear only in answers to these callers (checked in every answer).
SECRETS: dict[str, frozenset[str]] = {
    "P-A1": frozenset({PA, FA, CL, ADMIN}),
    "P-B1": frozenset({FB, CL, ADMIN}),
    "P-X1": frozenset({CL2}),
    "Xavier Private-Name": frozenset(),  # identifying details are never shown on these routes
    # A patient's name and contact details (EnrolmentContact, planted in world.py): the staff
    # of their group and their clinic's clinicians and admins, who may need to phone them;
    # nobody in another group or clinic. docs/security.md, "Names and contact details".
    **dict.fromkeys(
        ("Alys Contact-Aone", "alys.aone@contact.example", "07700900101"),
        frozenset({PA, FA, CL, ADMIN}),
    ),
    **dict.fromkeys(
        ("Bryn Contact-Bone", "bryn.bone@contact.example", "07700900102"),
        frozenset({FB, CL, ADMIN}),
    ),
    **dict.fromkeys(
        ("Xena Contact-Xone", "xena.xone@contact.example", "07700900103"), frozenset({CL2})
    ),
    "log-of-patient-a": frozenset({PA}),  # replaced by the log's UUID at run time
    "Private words of patient A": frozenset({PA}),  # a reflection not shared with the group
    "Words shared in group B": frozenset({FB, CL, ADMIN}),  # shared with the group's staff
    "Words shared in group X": frozenset({CL2}),
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
    # A pattern of answer text that repeats what callers themselves typed (the audit trail
    # records refused requests with their path); it is left out of the secret scan only.
    typed: str | None = None


def route(
    method: str,
    path: str,
    callers: frozenset[str],
    *,
    body: str | None = None,
    fresh: bool = False,
    ok: frozenset[int] = frozenset(),
    typed: str | None = None,
    **params: str,
) -> Route:
    return Route(method, path, callers, dict(params), body, fresh, ok, typed)


# The "path" of a refused request in an audit event's detail, as HTML or as CSV shows it.
REFUSED_PATH = r'path(?:[\s:"]|&#34;)*/[^\s"&,]*'


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
    # A forgotten passphrase: the same answer for any address (no email is set up here).
    route("GET", "/forgot", EVERYONE),
    route("POST", "/forgot", EVERYONE, body="forgot_form"),
    # One's own account: a wrong current passphrase changes nothing (422).
    route("GET", "/account", STAFF),
    route("POST", "/account", STAFF, body="wrong_passphrase_form", ok={422}),
    route("POST", "/account/language", STAFF, body="language_form"),
    # The patient app: their own programme, practice, ratings, reflections and reminders.
    route("GET", "/api/v1/programme", PATIENTS),
    route("GET", "/api/v1/practice-logs", PATIENTS),
    route("POST", "/api/v1/practice-logs", PATIENTS, body="practice_log"),
    route("POST", "/api/v1/check-ins", PATIENTS, body="check_in"),
    route("DELETE", "/api/v1/practice-logs/{log_id}", PATIENTS, log_id="undoable_log"),
    route("GET", "/api/v1/reflections", PATIENTS),
    route(
        "PUT",
        "/api/v1/reflections/{reflection_id}",
        PATIENTS,
        body="reflection",
        reflection_id="reflection",
    ),
    route("GET", "/today", PATIENTS),
    route("POST", "/today/practice", PATIENTS, body="practice_form"),
    route("POST", "/today/bad-day", PATIENTS, body="bad_day_form"),
    route("GET", "/more", PATIENTS),
    route("GET", "/language", PATIENTS),
    route("POST", "/language", PATIENTS, body="language_form"),
    route("GET", "/practice/{exercise_id}", PATIENTS, exercise_id="exercise"),
    route("GET", "/exercises/{exercise_id}/transcript", PATIENTS, exercise_id="exercise"),
    route("GET", "/progress", PATIENTS),
    route("GET", "/reflections", PATIENTS),
    route("POST", "/reflections", PATIENTS, body="reflection_form"),
    route("GET", "/media/{filename}", SIGNED_IN, filename="rendition"),
    # Reminders (Web Push): the patient's own choice and devices.
    route("GET", "/api/v1/reminders/preferences", PATIENTS),
    route("PUT", "/api/v1/reminders/preferences", PATIENTS, body="reminder_preferences"),
    route("POST", "/api/v1/reminders/pause", PATIENTS),
    route("POST", "/api/v1/reminders/resume", PATIENTS),
    route("GET", "/api/v1/reminders/vapid-public-key", SIGNED_IN),  # a public key, not a secret
    # Staff subscribe devices too, for safety alerts.
    route("POST", "/api/v1/reminders/subscriptions", SIGNED_IN, body="push_subscription"),
    route("DELETE", "/api/v1/reminders/subscriptions", SIGNED_IN, body="push_unsubscribe"),
    route("GET", "/reminders", PATIENTS),
    route("POST", "/reminders", PATIENTS, body="reminders_form"),
    route("POST", "/reminders/pause", PATIENTS, body="csrf_form"),
    route("POST", "/reminders/resume", PATIENTS, body="csrf_form"),
    # Their own data: everything held, the download, and stopping (a wrong passphrase: 422).
    route("GET", "/my-data", PATIENTS),
    route("GET", "/api/v1/me/export", PATIENTS),
    route("POST", "/api/v1/me/withdraw", PATIENTS, body="withdraw_wrong_passphrase", ok={422}),
    route("POST", "/my-data/withdraw", PATIENTS, body="withdraw_form_wrong_passphrase", ok={422}),
    route("GET", "/consent", PATIENTS),
    route("POST", "/consent", PATIENTS, body="csrf_form"),
    # Questionnaires on the phone: only the patient's own, only when due.
    route("GET", "/api/v1/questionnaires/due", PATIENTS),
    route(
        "PUT",
        "/api/v1/questionnaires/{instrument}/{timepoint}/answers",
        PATIENTS,
        body="answers",
        instrument="instrument",
        timepoint="timepoint",
    ),
    route(
        "POST",
        "/api/v1/questionnaires/{instrument}/{timepoint}/submit",
        PATIENTS,
        body="submitted_answers",
        instrument="submittable",
        timepoint="timepoint",
    ),
    route("GET", "/questionnaires", PATIENTS),
    route("GET", "/questionnaires/weekly/{timepoint}", PATIENTS, timepoint="timepoint"),
    route(
        "POST",
        "/questionnaires/weekly/{timepoint}",
        PATIENTS,
        body="csrf_form",
        ok={422},
        timepoint="timepoint",
    ),
    route("GET", "/help", SIGNED_IN),  # the caller's own clinic's urgent-support text
    route(
        "GET",
        "/questionnaires/{instrument_id}/{timepoint}",
        PATIENTS,
        instrument_id="instrument",
        timepoint="timepoint",
    ),
    route(
        "POST",
        "/questionnaires/{instrument_id}/{timepoint}",
        PATIENTS,
        body="questionnaire_draft_form",
        instrument_id="instrument",
        timepoint="timepoint",
    ),
    route(
        "GET",
        "/questionnaires/sent/{administration_id}",
        PATIENTS,
        administration_id="administration",
    ),
    # Running groups: facilitators of the group, clinicians and admins of its clinic.
    route("GET", "/groups", STAFF),
    route("GET", "/groups/new", STAFF),
    route("POST", "/groups/new", STAFF, body="new_group_form"),  # in the caller's own clinic
    route("GET", "/groups/{code}", STAFF, code="group"),
    route("GET", "/api/v1/groups/{code}/board", STAFF, code="group"),
    route("GET", "/groups/{code}/manage", STAFF, code="group"),
    route("POST", "/groups/{code}/patients", STAFF, body="enrol_form", code="group"),
    route("POST", "/groups/{code}/weeks", STAFF, body="week_unlock_form", code="group"),
    route("GET", "/groups/{code}/invites", STAFF, code="group"),
    route("POST", "/groups/{code}/invites", STAFF, body="invites_form", code="group"),
    route("GET", "/groups/{code}/prep", STAFF, code="group"),
    # One meeting of a group.
    route("GET", "/groups/{code}/sessions/{number}", STAFF, code="group", number="session_number"),
    route(
        "POST",
        "/groups/{code}/sessions/{number}",
        STAFF,
        body="session_form",
        code="group",
        number="session_number",
    ),
    route(
        "GET",
        "/groups/{code}/sessions/{number}/register",
        STAFF,
        code="group",
        number="session_number",
    ),
    route(
        "POST",
        "/groups/{code}/sessions/{number}/register",
        STAFF,
        body="register_form",
        code="group",
        number="session_number",
    ),
    route(
        "GET",
        "/api/v1/groups/{code}/sessions/{number}/attendance",
        STAFF,
        code="group",
        number="session_number",
    ),
    route(
        "PUT",
        "/api/v1/groups/{code}/sessions/{number}/attendance",
        STAFF,
        body="attendance",
        code="group",
        number="session_number",
    ),
    route(
        "GET",
        "/groups/{code}/sessions/{number}/prep",
        STAFF,
        code="group",
        number="session_number",
    ),
    # One patient of a group (the participant must be in the group named).
    route(
        "GET",
        "/groups/{code}/patients/{participant_code}",
        STAFF,
        code="group",
        participant_code="participant",
    ),
    route(
        "POST",
        "/groups/{code}/patients/{participant_code}/revoke-invite",
        STAFF,
        body="csrf_form",
        code="group",
        participant_code="participant",
    ),
    route(
        "POST",
        "/groups/{code}/patients/{participant_code}/sign-out-everywhere",
        STAFF,
        body="csrf_form",
        code="group",
        participant_code="participant",
    ),
    route(
        "POST",
        "/groups/{code}/patients/{participant_code}/withdraw",
        STAFF,
        body="withdraw_form",
        code="group",
        participant_code="leaver",
    ),
    # Consent on paper (no sheet published in this world: 422 at the field) and the subject
    # access file, which carries the patient's private words, contact details and the ids of
    # their logs on purpose (it is their whole record; tests/rights checks it holds exactly
    # their rows).
    route(
        "POST",
        "/groups/{code}/patients/{participant_code}/consent",
        STAFF,
        body="csrf_form",
        ok={422},
        code="group",
        participant_code="participant",
    ),
    route(
        "GET",
        "/groups/{code}/patients/{participant_code}/my-data.json",
        STAFF,
        typed=r"Private words of patient [AB]|Xavier Private-Name|"
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        code="group",
        participant_code="participant",
    ),
    route(
        "POST",
        "/groups/{code}/patients/{participant_code}/move",
        STAFF,
        body="move_form",
        code="group",
        participant_code="leaver",
    ),
    # Patients' words: a group's shared comments, and the clinic's codebook.
    route("GET", "/groups/{code}/words", STAFF, code="group"),
    route(
        "POST",
        "/groups/{code}/words/{reflection_id}",
        STAFF,
        body="code_comment_form",
        code="group",
        reflection_id="comment",
    ),
    route("GET", "/codebook", STAFF),  # the caller's own clinic's codebook
    route("POST", "/codebook", STAFF, body="new_theme_form"),
    route("POST", "/codebook/{theme_id}", STAFF, body="theme_form", theme_id="theme"),
    # Outcomes: scoped to the groups the caller may see.
    route("GET", "/outcomes", STAFF),
    route("GET", "/api/v1/outcomes/summary", STAFF),
    route("GET", "/outcomes/patients/{code}", STAFF, code="participant"),
    route("GET", "/outcomes/patients/{code}/enter", STAFF, code="participant"),
    route("POST", "/outcomes/patients/{code}/enter", STAFF, body="paper_form", code="participant"),
    route("GET", "/outcomes/safety-flags/{flag_id}", STAFF, flag_id="safety_flag"),
    route(
        "POST",
        "/outcomes/safety-flags/{flag_id}/acknowledge",
        STAFF,
        body="acknowledge_form",
        flag_id="safety_flag",
    ),
    # Exports: clinicians and admins.
    route("GET", "/exports", CLINICIANS),
    route("POST", "/exports", CLINICIANS, body="csrf_form"),
    # Admins only.
    route("GET", "/admin/audit", ADMINS, typed=REFUSED_PATH),
    route("POST", "/admin/audit/export", ADMINS, body="csrf_form", typed=REFUSED_PATH),
    route("GET", "/programmes/{key}/adherence", ADMINS, key="programme"),
    # Audio: admins replace the shipped voice for their own clinic (programmes are shared, so
    # any programme's exercise may get the clinic's recording). No file: 422 at the field.
    route("GET", "/admin/audio", ADMINS),
    route(
        "POST",
        "/admin/audio/{exercise_id}",
        ADMINS,
        body="csrf_form",
        ok={422},
        exercise_id="any_exercise",
    ),
    route("POST", "/programmes/{key}/adherence", ADMINS, body="adherence_form", key="programme"),
    # Staff accounts of the admin's own clinic. A deactivated account gets no new link (422).
    route("GET", "/admin/staff", ADMINS),
    route("POST", "/admin/staff", ADMINS, body="staff_invite_form"),
    route(
        "POST",
        "/admin/staff/{user_id}/reset",
        ADMINS,
        body="csrf_form",
        ok={422},
        user_id="staff_member",
    ),
    route(
        "POST",
        "/admin/staff/{user_id}/deactivate",
        ADMINS,
        body="csrf_form",
        user_id="staff_member",
    ),
    # The clinic's information sheet and retention period (empty forms: 422 at the field).
    route("GET", "/admin/consent", ADMINS),
    route("POST", "/admin/consent", ADMINS, body="csrf_form", ok={422}),
    route("GET", "/admin/retention", ADMINS),
    route("POST", "/admin/retention", ADMINS, body="csrf_form", ok={422}),
]

ROUTE_TABLE = {(r.method, r.path): r for r in ROUTES}
assert len(ROUTE_TABLE) == len(ROUTES), "a route is declared twice"
