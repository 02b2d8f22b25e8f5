"""The matrix world: the standard cast plus clinic two's group, practice logs, recordings."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, select

from app import clock as app_clock
from app.clinics import service as clinics_service
from app.clinics.models import Role
from app.comments import service as comments_service
from app.config import Settings
from app.db import open_session
from app.groups import service as groups_service
from app.groups.models import Group
from app.outcomes import questionnaires
from app.practice import service as practice_service
from app.practice.schemas import PracticeLogCreate, ReflectionWrite
from app.programme.models import Exercise, ExerciseKind, Programme
from app.programme.models import Week as ProgrammeWeek
from tests.factories import PASSWORD_HASH, World, add_ready_recording, build_world

from .matrix import CALLERS


@dataclass
class MatrixWorld:
    world: World
    logins: dict[str, str]  # caller -> login
    user_keys: dict[str, str]  # caller -> key in world.users
    objects: dict[str, dict[str, str]]  # kind -> name -> the value that goes in the path
    exercise_id: int  # an exercise of the patients' programme
    # Arrangements that body builders use to make each allowed call a real, valid action:
    members: dict[str, dict[str, int]]  # group code -> participant code -> enrolment id
    leavers: dict[int, int]  # enrolment id of a leaver -> the group it is reset into
    move_to: dict[int, str]  # clinic id -> a group a leaver of that clinic may move to
    themes: dict[str, int]  # group code -> a theme of its clinic's codebook
    flag_ids: list[int]  # safety flags re-opened before each acknowledgement
    weekly_reflection_week: int  # week_number of the patients' private reflections


def _log(exercise_id: int) -> PracticeLogCreate:
    started = app_clock.now() - timedelta(hours=2)
    return PracticeLogCreate(
        id=uuid.uuid4(),
        exercise_id=exercise_id,
        started_at=started,
        timezone="Europe/London",
        local_date=started.date(),
        listened_seconds=300,
        completed=True,
    )


def _recording(session, *, exercise_id: int, clinic_id: int | None, name: str, media: Path):  # type: ignore[no-untyped-def]
    content = f"not really opus: {name}".encode()
    (media / name).write_bytes(content)
    add_ready_recording(
        session,
        exercise_id=exercise_id,
        clinic_id=clinic_id,
        filename=name,
        size_bytes=len(content),
        duration_seconds=1,
    )


def build_matrix_world(engine: Engine, settings: Settings) -> MatrixWorld:
    """Everything the access matrix refers to, with every object named in AUDIENCE."""
    world = build_world(engine)
    media = settings.media_dir
    media.mkdir(parents=True, exist_ok=True)
    with open_session(engine, write=True) as session:
        other_programme = Programme(key="other-programme", title="Another programme")
        session.add(other_programme)
        session.flush()
        session.add(ProgrammeWeek(programme_id=other_programme.id or 0, number=1, title="One"))
        foreign_exercise = Exercise(
            programme_id=other_programme.id or 0,
            key="foreign",
            title="Foreign",
            kind=ExerciseKind.breathing,
            minutes=5,
        )
        session.add(foreign_exercise)
        session.flush()
        group_x = groups_service.create_group(
            session,
            clinic_id=world.other_clinic.id or 0,
            programme_id=other_programme.id or 0,
            code="GRP-X",
            name="Group X",
            start_date=app_clock.today("Europe/London") - timedelta(days=3),
        )
        enrolment_x = groups_service.enrol_patient(
            session,
            group=group_x,
            participant_code="P-X1",
            display_name="Xavier Private-Name",
            password_hash=PASSWORD_HASH,
        )
        exercise = session.exec(
            select(Exercise)
            .where(Exercise.programme_id == world.programme_id)
            .order_by(col(Exercise.id))
        ).first()
        assert exercise is not None and exercise.id is not None
        exercise_id = exercise.id
        logs = {}
        for name, key in (
            ("log-of-patient-a", "A1"),
            ("log-of-patient-b", "A2"),
            ("log-in-group-b", "B1"),
        ):
            payload = _log(exercise_id)
            practice_service.record_practice(
                session,
                enrolment=world.enrolments[key],
                programme_id=world.programme_id,
                payload=payload,
            )
            logs[name] = str(payload.id)
        _recording(
            session,
            exercise_id=exercise_id,
            clinic_id=world.clinic.id,
            name="clinic-one.webm",
            media=media,
        )
        _recording(
            session,
            exercise_id=foreign_exercise.id or 0,
            clinic_id=world.other_clinic.id,
            name="clinic-two.webm",
            media=media,
        )
        _recording(
            session, exercise_id=exercise_id, clinic_id=None, name="shipped.webm", media=media
        )
        _plant_contacts(session, world, enrolment_x)
        staff_accounts = _staff_accounts(session, world)
        groups = {"GRP-A": world.group_a, "GRP-B": world.group_b, "GRP-X": group_x}
        extra = _arrange_groups(session, world, groups, other_programme.id or 0, enrolment_x)
        session.commit()
        objects = {
            "group": {"GRP-A": "GRP-A", "GRP-B": "GRP-B", "GRP-X": "GRP-X"},
            "exercise": {
                "in-clinic-one-programme": str(exercise_id),
                "in-another-programme": str(foreign_exercise.id),
                "missing": "999999",
            },
            "any_exercise": {
                "in-clinic-one-programme": str(exercise_id),
                "in-another-programme": str(foreign_exercise.id),
                "missing": "999999",
            },
            "rendition": {
                "clinic-one-recording": "clinic-one.webm",
                "clinic-two-recording": "clinic-two.webm",
                "shipped-recording": "shipped.webm",
                "missing": "missing.webm",
            },
            "practice_log": logs,
            "undoable_log": {"never-stored": "00000000-0000-4000-8000-00000000d0d0"},
            "enrolment": {
                "patient-a": str(world.enrolments["A1"].id),
                "patient-b": str(world.enrolments["A2"].id),
                "patient-in-group-b": str(world.enrolments["B1"].id),
                "patient-in-clinic-two": str(enrolment_x.id),
            },
            "staff_member": staff_accounts,
            **extra.objects,
        }
    logins = dict(
        zip(
            CALLERS,
            [
                "",
                "P-A1",
                "P-A2",
                "fa@one.example",
                "fb@one.example",
                "clinician@one.example",
                "clinician@two.example",
                "admin@one.example",
            ],
            strict=True,
        )
    )
    user_keys = dict(
        zip(
            CALLERS,
            ["", "patient_a1", "patient_a2", "facilitator_a", "facilitator_b", "clinician"]
            + ["other_clinician", "admin"],
            strict=True,
        )
    )
    return MatrixWorld(
        world,
        logins,
        user_keys,
        objects,
        exercise_id,
        members=extra.members,
        leavers=extra.leavers,
        move_to=extra.move_to,
        themes=extra.themes,
        flag_ids=extra.flag_ids,
        weekly_reflection_week=extra.week,
    )


# Names and contact details staff keep for phoning a patient (EnrolmentContact): SECRETS in
# tests/security/matrix.py says who may see each; no export may carry any of them.
CONTACTS = {
    "A1": ("Alys Contact-Aone", "alys.aone@contact.example", "07700900101"),
    "B1": ("Bryn Contact-Bone", "bryn.bone@contact.example", "07700900102"),
    "X1": ("Xena Contact-Xone", "xena.xone@contact.example", "07700900103"),
}


def _plant_contacts(session, world: World, enrolment_x) -> None:  # type: ignore[no-untyped-def]
    enrolments = {"A1": world.enrolments["A1"], "B1": world.enrolments["B1"], "X1": enrolment_x}
    for key, (name, email, phone) in CONTACTS.items():
        groups_service.set_contact(
            session, enrolment=enrolments[key], name=name, email=email, phone=phone
        )


def _staff_accounts(session, world: World) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A staff account in each clinic for admins to reset or deactivate (not a caller's own)."""
    accounts = {}
    for name, clinic, email in (
        ("in-clinic-one", world.clinic, "leaver@one.example"),
        ("in-clinic-two", world.other_clinic, "leaver@two.example"),
    ):
        user = clinics_service.add_staff(
            session,
            clinic=clinic,
            email=email,
            role=Role.facilitator,
            display_name=name,
            password_hash=PASSWORD_HASH,
        )
        accounts[name] = str(user.id)
    accounts["missing"] = "999999"
    return accounts


@dataclass
class _Arranged:
    objects: dict[str, dict[str, str]]
    members: dict[str, dict[str, int]]
    leavers: dict[int, int]
    move_to: dict[int, str]
    themes: dict[str, int]
    flag_ids: list[int]
    week: int


def _reflection(session, enrolment, *, text: str, week: int, shared: bool) -> str:  # type: ignore[no-untyped-def]
    reflection_id = uuid.uuid4()
    practice_service.save_reflection(
        session,
        enrolment=enrolment,
        reflection_id=reflection_id,
        payload=ReflectionWrite(
            kind="weekly", week_number=week, text=text, share_with_group=shared
        ),
        weeks_in_programme=52,
    )
    return str(reflection_id)


def _arrange_groups(  # type: ignore[no-untyped-def]
    session, world: World, groups: dict[str, Group], other_programme_id: int, enrolment_x
) -> _Arranged:
    """Meetings, leavers, move targets, comments, themes, questionnaires and safety flags."""
    clinic_one, clinic_two = world.clinic.id or 0, world.other_clinic.id or 0
    # Eight weekly meetings per group (some past, some to come).
    for group in groups.values():
        first = datetime.combine(group.start_date, datetime.min.time(), tzinfo=UTC)
        for number in range(1, 9):
            groups_service.add_session(
                session,
                group=group,
                number=number,
                starts_at=first + timedelta(weeks=number - 1, hours=10),
                place="Room 1",
            )
    # Groups a leaver may be moved to: one both clinic-one facilitators run, one in clinic two.
    groups_service.create_group(
        session,
        clinic_id=clinic_one,
        programme_id=world.programme_id,
        code="GRP-C",
        name="Group C",
        start_date=world.group_a.start_date,
        facilitators=[world.users["facilitator_a"], world.users["facilitator_b"]],
    )
    groups_service.create_group(
        session,
        clinic_id=clinic_two,
        programme_id=other_programme_id,
        code="GRP-Y",
        name="Group Y",
        start_date=groups["GRP-X"].start_date,
    )
    leavers = {}
    for code, group in (("P-A3", "GRP-A"), ("P-B3", "GRP-B"), ("P-X3", "GRP-X")):
        enrolment = groups_service.enrol_patient(
            session, group=groups[group], participant_code=code, password_hash=PASSWORD_HASH
        )
        leavers[enrolment.id or 0] = groups[group].id or 0
    members = {
        "GRP-A": {"P-A1": world.enrolments["A1"].id or 0, "P-A2": world.enrolments["A2"].id or 0},
        "GRP-B": {"P-B1": world.enrolments["B1"].id or 0, "P-B2": world.enrolments["B2"].id or 0},
        "GRP-X": {"P-X1": enrolment_x.id or 0},
    }
    # The clinics' codebooks (the same label in each: a theme belongs to one clinic).
    themes = {
        clinic_id: comments_service.add_theme(
            session, actor=world.users[actor], clinic_id=clinic_id, label="Connection"
        ).id
        or 0
        for clinic_id, actor in ((clinic_one, "clinician"), (clinic_two, "other_clinician"))
    }
    # Reflections: private ones of the two patients, and words shared with each group.
    week = groups_service.programme_week_on(world.group_a, app_clock.today("Europe/London"))
    private = {
        "private-of-patient-a": _reflection(
            session, world.enrolments["A1"], text="Private words of patient A", week=1, shared=False
        ),
        "private-of-patient-b": _reflection(
            session, world.enrolments["A2"], text="Private words of patient B", week=1, shared=False
        ),
    }
    comments = {
        f"comment-in-group-{letter}": _reflection(
            session, enrolment, text=f"Words shared in group {letter.upper()}", week=1, shared=True
        )
        for letter, enrolment in (
            ("a", world.enrolments["A1"]),
            ("b", world.enrolments["B1"]),
            ("x", enrolment_x),
        )
    }
    # Questionnaires: a PHQ-9 with item 9 above 0 raises a safety flag in the patient's group.
    now = app_clock.now()
    phq9_flagged = {f"q{i}": 1 for i in range(1, 10)}
    administrations, flags = {}, {}
    for name, enrolment, instrument, answers in (
        ("of-patient-a", world.enrolments["A1"], "phq9", phq9_flagged),
        ("of-patient-b", world.enrolments["A2"], "gad7", {f"q{i}": 1 for i in range(1, 8)}),
        ("in-group-b", world.enrolments["B1"], "phq9", phq9_flagged),
        ("in-clinic-two", enrolment_x, "phq9", phq9_flagged),
    ):
        administration, flag = questionnaires.record_administration(
            session,
            enrolment=enrolment,
            instrument_id=instrument,
            timepoint="baseline",
            submitted_at=now,
            answers=answers,
        )
        administrations[name] = str(administration.id)
        if flag is not None:
            flags[name] = flag.id or 0
    # A paper PSEQ (no item text: entered by total) for each participant, so that entering
    # one again is a correction every time.
    for enrolment in (world.enrolments["A1"], world.enrolments["B1"], enrolment_x):
        questionnaires.record_administration(
            session,
            enrolment=enrolment,
            instrument_id="pseq",
            timepoint="baseline",
            submitted_at=now,
            total=30,
            entered_by=world.users["clinician"],
        )
    session.flush()
    programme_key = session.exec(
        select(Programme.key).where(Programme.id == world.programme_id)
    ).one()
    group_clinic = {code: g.clinic_id for code, g in groups.items()}
    objects = {
        "participant": {"P-A1": "P-A1", "P-B1": "P-B1", "P-X1": "P-X1", "P-NOBODY": "P-NOBODY"},
        "leaver": {"P-A3": "P-A3", "P-B3": "P-B3", "P-X3": "P-X3"},
        "session_number": {"first": "1", "missing": "99"},
        "comment": comments,
        "theme": {
            "clinic-one-theme": str(themes[clinic_one]),
            "clinic-two-theme": str(themes[clinic_two]),
            "missing": "999999",
        },
        "reflection": private,
        "administration": administrations,
        "instrument": {"due-this-week": "pain_intensity", "unknown": "no-such-questionnaire"},
        "submittable": {"due-this-week": "pain_distress", "unknown": "no-such-questionnaire"},
        "timepoint": {"this-week": f"week_{week}"},
        "safety_flag": {
            "in-group-a": str(flags["of-patient-a"]),
            "in-group-b": str(flags["in-group-b"]),
            "in-group-x": str(flags["in-clinic-two"]),
            "missing": "999999",
        },
        "programme": {"clinic-one-programme": programme_key, "missing": "no-such-programme"},
    }
    return _Arranged(
        objects=objects,
        members=members,
        leavers=leavers,
        move_to={clinic_one: "GRP-C", clinic_two: "GRP-Y"},
        themes={code: themes[clinic_id] for code, clinic_id in group_clinic.items()},
        flag_ids=list(flags.values()),
        week=week,
    )
