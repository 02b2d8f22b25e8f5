"""The demo clinic: two groups, their staff and patients, and months of plausible practice.

The same seed gives the same people, logs and ratings; dates are anchored to today, so
DEMO-A is always in its sixth week and DEMO-B always finished three months ago.
"""

import random
import statistics
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, delete

from app.auth.passwords import hash_password
from app.clinics import service as clinics_service
from app.clinics.models import Clinic, Role, User
from app.consent import service as consent_service
from app.consent.models import ConsentMethod
from app.groups import service as groups_service
from app.groups.models import Attendance, AttendanceStatus, Enrolment, Group, GroupSession
from app.outcomes import instruments as instrument_registry
from app.outcomes import questionnaires
from app.outcomes.definitions import Instrument
from app.practice.models import CheckIn, CheckInMoment, PracticeKind, PracticeLog
from app.programme import service as programme_service
from app.programme.models import Exercise, PracticeRole

DEMO_SLUG = "demo"
DEMO_TIMEZONE = "Europe/London"
PROGRAMME_WEEKS = 8
STAFF = (
    ("admin@demo.example", Role.admin, "Alex Admin"),
    ("facilitator@demo.example", Role.facilitator, "Fran Facilitator"),
    ("facilitator2@demo.example", Role.facilitator, "Sam Facilitator"),
    ("clinician@demo.example", Role.clinician, "Chris Clinician"),
)


@dataclass(frozen=True)
class DemoGroup:
    code: str
    name: str
    patients: int
    start_date: date
    facilitator: str


@dataclass(frozen=True)
class Persona:
    """How one synthetic patient engages and how their ratings drift."""

    engagement: float  # chance of practising on a given day at the start
    fade: float  # how much that chance falls per week
    drop_out_week: int | None
    pain: float  # baseline pain intensity
    improvement: float  # points of pain lost over the programme
    offline_share: float  # share of logs sent late from an offline phone


@dataclass(frozen=True)
class DemoSummary:
    clinic: Clinic
    created: bool
    practice_logs: int
    check_ins: int


def demo_groups(today: date) -> tuple[DemoGroup, DemoGroup]:
    """DEMO-A started six weeks ago; DEMO-B finished its eight weeks three months ago."""
    b_end = today - timedelta(days=91)
    return (
        DemoGroup(
            "DEMO-A",
            "Tuesday group",
            12,
            today - timedelta(weeks=6) + timedelta(days=1),
            "facilitator@demo.example",
        ),
        DemoGroup(
            "DEMO-B",
            "Spring group",
            10,
            b_end - timedelta(weeks=PROGRAMME_WEEKS - 1, days=6),
            "facilitator2@demo.example",
        ),
    )


def _persona(rng: random.Random) -> Persona:
    return Persona(
        engagement=rng.choice([0.15, 0.35, 0.55, 0.7, 0.8, 0.9]),
        fade=rng.uniform(0.0, 0.06),
        drop_out_week=rng.choice([None] * 5 + [3, 4, 5]),
        pain=rng.uniform(4.5, 8.5),
        improvement=rng.uniform(-0.5, 2.5),
        offline_share=rng.choice([0.0, 0.05, 0.2]),
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _rating(rng: random.Random, centre: float) -> int:
    return max(0, min(10, round(rng.gauss(centre, 1.0))))


def seed_demo(
    session: Session, *, today: date, seed: int, password: str, if_stale: bool = False
) -> DemoSummary:
    """Create the demo clinic, or rebuild it from scratch (``if_stale``: only when out of date)."""
    existing = clinics_service.get_clinic_by_slug(session, DEMO_SLUG)
    if (
        if_stale
        and existing is not None
        and existing.demo_seed == seed
        and existing.demo_seeded_on == today.isoformat()
    ):
        return DemoSummary(existing, created=False, practice_logs=0, check_ins=0)
    if existing is not None:
        session.exec(delete(Clinic).where(col(Clinic.id) == existing.id))
        session.flush()
    programme = programme_service.get_programme_by_key(
        session, programme_service.DEFAULT_PROGRAMME_KEY
    )
    clinic = Clinic(
        slug=DEMO_SLUG,
        name="Demo Pain Management Service",
        timezone=DEMO_TIMEZONE,
        demo_seed=seed,
        demo_seeded_on=today.isoformat(),
    )
    session.add(clinic)
    session.flush()
    password_hash = hash_password(password)  # one hash for every demo account: seeding stays quick
    staff = {
        email: clinics_service.add_staff(
            session,
            clinic=clinic,
            email=email,
            role=role,
            display_name=name,
            password_hash=password_hash,
        )
        for email, role, name in STAFF
    }
    rng = random.Random(seed)
    exercises = _exercises_by_week(session, programme.id or 0)
    logs = check_ins = 0
    cohort: list[tuple[Group, Enrolment, Persona]] = []
    for spec in demo_groups(today):
        group = groups_service.create_group(
            session,
            clinic_id=clinic.id or 0,
            programme_id=programme.id or 0,
            code=spec.code,
            name=spec.name,
            start_date=spec.start_date,
            facilitators=[staff[spec.facilitator]],
        )
        meetings = _schedule_sessions(session, group)
        for number in range(1, spec.patients + 1):
            code = f"P-{spec.code[-1]}{number:02d}"
            enrolment = groups_service.enrol_patient(
                session, group=group, participant_code=code, password_hash=password_hash
            )
            persona = _persona(rng)
            cohort.append((group, enrolment, persona))
            made = _simulate_patient(
                session, rng, enrolment, group, meetings, exercises, today, persona
            )
            logs, check_ins = logs + made[0], check_ins + made[1]
    _seed_outcomes(
        session, seed=seed, cohort=cohort, today=today, staff=staff["clinician@demo.example"]
    )
    _seed_groups_extras(session, random.Random(seed + 1), staff)
    _seed_consent(session, random.Random(seed + 2), staff["admin@demo.example"], cohort)
    return DemoSummary(clinic, created=True, practice_logs=logs, check_ins=check_ins)


DEMO_INFORMATION_SHEET = """\
## What Tend is

Tend carries your pain group's practices home: this week's recordings, a place to say how
each practice went, and the questionnaires the service uses to see whether the group helps.

## What is recorded

- when you practise, for how long, and your 0-10 ratings of pain, distress and mood;
- what you write in reflections (private unless you choose to share them with the group);
- your questionnaire answers and scores.

## Who sees it

Your group's facilitators and the service's clinicians. Anyone who looks at your record is
recorded, and you can see who on your **My data** page. Reports for the service use a code,
never your name.

## How long it is kept, and stopping

The service keeps your data for 8 years after your group ends, as NHS records rules ask.
You can stop at any time from **My data**: keep what you recorded for the service's records,
or erase it. Your care does not change either way.
"""


def _seed_consent(
    session: Session,
    rng: random.Random,
    admin: User,
    cohort: list[tuple[Group, Enrolment, Persona]],
) -> None:
    """The demo clinic's information sheet; every demo patient agreed to it when they joined
    (a few said no to evaluation use, one signed on paper)."""
    document = consent_service.publish(
        session,
        actor=admin,
        information_sheet=DEMO_INFORMATION_SHEET,
        required_statements="I agree to use Tend as part of the group.",
        evaluation_statement="My answers may be used, without my name, to evaluate the service.",
    )
    for number, (group, enrolment, _persona) in enumerate(cohort):
        patient = session.get(User, enrolment.user_id)
        assert patient is not None
        paper = number == 0
        record = consent_service.record_consent(
            session,
            patient=patient,
            document=document,
            answers={"required_1": True, "evaluation": rng.random() > 0.15},
            method=ConsentMethod.paper if paper else ConsentMethod.app,
            recorded_by=admin if paper else None,
        )
        record.given_at = datetime.combine(group.start_date, time(10, 0), tzinfo=UTC)


def _exercises_by_week(
    session: Session, programme_id: int
) -> dict[int, list[tuple[PracticeRole, Exercise]]]:
    return {
        outline.week.number: [(practice.role, exercise) for practice, exercise in outline.practices]
        for outline in programme_service.outline(session, programme_id)
    }


def _schedule_sessions(session: Session, group: Group) -> list[GroupSession]:
    zone = ZoneInfo(DEMO_TIMEZONE)
    meetings = []
    for number in range(1, PROGRAMME_WEEKS + 1):
        day = groups_service.week_start(group, number)
        starts = datetime.combine(day, time(10, 30), tzinfo=zone)
        meetings.append(
            groups_service.add_session(
                session, group=group, number=number, starts_at=starts, place="Pain clinic, room 2"
            )
        )
    session.flush()
    return meetings


def _simulate_patient(
    session: Session,
    rng: random.Random,
    enrolment: Enrolment,
    group: Group,
    meetings: list[GroupSession],
    exercises: dict[int, list[tuple[PracticeRole, Exercise]]],
    today: date,
    persona: Persona,
) -> tuple[int, int]:
    zone = ZoneInfo(DEMO_TIMEZONE)
    last_day = min(
        today - timedelta(days=1), group.start_date + timedelta(weeks=PROGRAMME_WEEKS + 4)
    )
    logs = check_ins = 0
    day = group.start_date
    while day <= last_day:
        week = groups_service.programme_week_on(group, day)
        if persona.drop_out_week and week >= persona.drop_out_week:
            break
        progress = min(week, PROGRAMME_WEEKS) / PROGRAMME_WEEKS
        chance = max(0.05, persona.engagement - persona.fade * week)
        if week > PROGRAMME_WEEKS:
            chance *= 0.5  # some keep going after the group ends
        if rng.random() < chance:
            made = _practice(session, rng, enrolment, persona, day, week, progress, exercises, zone)
            logs, check_ins = logs + 1, check_ins + made
        if day.weekday() == 6 and rng.random() < persona.engagement:
            check_ins += _weekly_check_in(session, rng, enrolment, persona, day, progress, zone)
        day += timedelta(days=1)
    _register(session, rng, enrolment, persona, meetings, today)
    return logs, check_ins


def _practice(
    session: Session,
    rng: random.Random,
    enrolment: Enrolment,
    persona: Persona,
    day: date,
    week: int,
    progress: float,
    exercises: dict[int, list[tuple[PracticeRole, Exercise]]],
    zone: ZoneInfo,
) -> int:
    open_weeks = [w for w in exercises if w <= min(week, PROGRAMME_WEEKS)]
    chosen_week = min(week, PROGRAMME_WEEKS) if rng.random() < 0.7 else rng.choice(open_weeks)
    role_and_exercise = rng.choice(exercises[chosen_week]) if exercises.get(chosen_week) else None
    without_audio = role_and_exercise is None or rng.random() < 0.15
    minutes = role_and_exercise[1].minutes if role_and_exercise else 10
    started = datetime.combine(
        day, time(rng.choice([7, 8, 9, 13, 19, 20, 21, 22]), rng.randrange(60)), tzinfo=zone
    )
    listened = int(minutes * 60 * rng.uniform(0.5, 1.0))
    received = started + timedelta(seconds=listened + 5)
    if rng.random() < persona.offline_share:
        received += timedelta(hours=rng.uniform(1, 40))  # sent later from an offline phone
    log = PracticeLog(
        id=_uuid(rng),
        enrolment_id=enrolment.id or 0,
        exercise_id=None if without_audio or not role_and_exercise else role_and_exercise[1].id,
        kind=rng.choice([PracticeKind.own, PracticeKind.anytime])
        if without_audio
        else PracticeKind.exercise,
        started_at=started,
        utc_offset_minutes=int((started.utcoffset() or timedelta()).total_seconds() // 60),
        timezone=DEMO_TIMEZONE,
        local_date=day,
        listened_seconds=listened,
        completed=listened >= minutes * 60 * 0.9,
        received_at=received,
        request_sha256="demo",
    )
    session.add(log)
    if rng.random() > 0.6:
        return 0
    session.flush()  # the ratings refer to the log: store it first
    pain = persona.pain - persona.improvement * progress
    before = {
        "pain_intensity": _rating(rng, pain),
        "pain_distress": _rating(rng, pain - 0.5),
        "mood": _rating(rng, 4.5 + persona.improvement * progress),
    }
    relief = rng.choice([0, 0, 1, 1, 2])
    after = {
        "pain_intensity": max(0, before["pain_intensity"] - relief),
        "pain_distress": max(0, before["pain_distress"] - relief - rng.choice([0, 1])),
        "mood": min(10, before["mood"] + rng.choice([0, 1, 1, 2])),
    }
    for moment, values, at in (
        (CheckInMoment.before, before, started),
        (CheckInMoment.after, after, started + timedelta(seconds=listened)),
    ):
        session.add(
            CheckIn(
                id=str(uuid.uuid5(uuid.UUID(log.id), moment.value)),
                enrolment_id=enrolment.id or 0,
                practice_log_id=log.id,
                moment=moment,
                recorded_at=at,
                local_date=day,
                received_at=received,
                **values,
            )
        )
    return 2


def _weekly_check_in(
    session: Session,
    rng: random.Random,
    enrolment: Enrolment,
    persona: Persona,
    day: date,
    progress: float,
    zone: ZoneInfo,
) -> int:
    pain = persona.pain - persona.improvement * progress
    at = datetime.combine(day, time(18, rng.randrange(60)), tzinfo=zone)
    session.add(
        CheckIn(
            id=_uuid(rng),
            enrolment_id=enrolment.id or 0,
            moment=CheckInMoment.standalone,
            recorded_at=at,
            local_date=day,
            received_at=at,
            pain_intensity=_rating(rng, pain),
            pain_distress=_rating(rng, pain - 0.5),
            mood=_rating(rng, 4.5 + persona.improvement * progress),
        )
    )
    return 1


def _register(
    session: Session,
    rng: random.Random,
    enrolment: Enrolment,
    persona: Persona,
    meetings: list[GroupSession],
    today: date,
) -> None:
    for meeting in meetings:
        if meeting.starts_at.date() >= today:
            break
        if persona.drop_out_week and meeting.number >= persona.drop_out_week + 1:
            status = AttendanceStatus.absent
        elif rng.random() < 0.55 + persona.engagement / 2:
            status = AttendanceStatus.present
        else:
            status = rng.choice([AttendanceStatus.absent, AttendanceStatus.apologies])
        session.add(
            Attendance(
                group_session_id=meeting.id or 0, enrolment_id=enrolment.id or 0, status=status
            )
        )


# Outcome measures. Baseline mean and SD, and the effect size (d_av, as improvement) aimed at
# between baseline and end, close to the seed study (Penlington 2019) where it reported one.
OUTCOME_TARGETS = {
    "pain_distress": (7.2, 1.6, 0.47),
    "pain_intensity": (6.8, 1.4, 0.23),
    "gad7": (11.0, 4.5, 0.72),
    "phq9": (13.0, 5.0, 0.46),
    "pseq": (25.0, 11.0, 0.36),
    "scs_sf": (2.6, 0.6, 0.36),
    "peg": (6.5, 1.5, 0.30),
}
FOLLOW_UP_KEEPS = 0.8  # a little of the change fades by follow-up


def _answers_for(
    instrument: Instrument, total: float, rng: random.Random, fixed: dict[str, int]
) -> dict[str, int]:
    """Item answers whose score is (about) ``total``: items raised one step at a time at random."""
    ids = instrument.scored_item_ids
    allowed = {i: instrument.allowed_values(i) for i in ids}
    scored = {i: allowed[i][0] for i in ids}
    scored.update(fixed)
    target = round(total * len(ids)) if instrument.scoring.method == "mean" else round(total)
    free = [i for i in ids if i not in fixed]
    while sum(scored.values()) < target:
        open_items = [i for i in free if scored[i] < allowed[i][-1]]
        if not open_items:
            break
        scored[rng.choice(open_items)] += 1
    reverse = set(instrument.scoring.reverse_items)
    # Reverse-scored items are answered the other way round.
    return {
        i: (allowed[i][0] + allowed[i][-1] - v) if i in reverse else v for i, v in scored.items()
    }


def _clip(instrument: Instrument, value: float) -> float:
    low, high = instrument.scoring.range.min, instrument.scoring.range.max
    return min(high, max(low, value))


def _centred(rng: random.Random, n: int) -> list[float]:
    draws = [rng.gauss(0, 1) for _ in range(n)]
    mean = sum(draws) / n if n else 0.0
    return [d - mean for d in draws]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(
        day,
        time(rng.choice([9, 11, 14, 18, 20]), rng.randrange(60)),
        tzinfo=ZoneInfo(DEMO_TIMEZONE),
    )


def _seed_outcomes(
    session: Session,
    *,
    seed: int,
    cohort: list[tuple[Group, Enrolment, Persona]],
    today: date,
    staff: User,
) -> None:
    """DEMO-B: baseline, end and follow-up (drop-outs: baseline only); DEMO-A: baseline, weekly
    pain ratings, and one baseline PHQ-9 with item 9 above 0 (an open safety flag)."""
    rng = random.Random(f"{seed}-outcomes")  # apart from the practice data's generator
    known = instrument_registry.instruments()
    by_group: dict[str, list[tuple[Group, Enrolment, Persona]]] = {}
    for member in cohort:
        by_group.setdefault(member[0].code, []).append(member)
    demo_a = by_group.get("DEMO-A", [])
    flagged = rng.randrange(len(demo_a)) if demo_a else -1
    for code, members in sorted(by_group.items()):
        # A shared response per person, so measures move together (as they do in real groups);
        # centred over those who stayed, so the group's mean change is near the target.
        stayers = [i for i, member in enumerate(members) if member[2].drop_out_week is None]
        response = dict(zip(stayers, _centred(rng, len(stayers)), strict=True))
        missed_follow_up = {i for i in stayers if rng.random() < 0.15}
        for instrument_id, (mean, sd, effect) in OUTCOME_TARGETS.items():
            instrument = known[instrument_id]
            better = 1 if instrument.higher_is_better else -1
            noise = dict(zip(stayers, _centred(rng, len(stayers)), strict=True))
            pres = [_clip(instrument, rng.gauss(mean, sd)) for _ in members]
            # Scale the change to the SD these people actually have, so d_av lands near the aim.
            spread = statistics.stdev([pres[i] for i in stayers]) if len(stayers) > 1 else sd
            for index, (group, enrolment, persona) in enumerate(members):
                pre = pres[index]
                fixed = {}
                if instrument_id == "phq9":
                    fixed = {"q9": 1 if code == "DEMO-A" and index == flagged else 0}
                timepoints: list[tuple[str, float, date]] = [
                    ("baseline", pre, group.start_date - timedelta(days=rng.randint(1, 10)))
                ]
                stayed = persona.drop_out_week is None
                if code == "DEMO-B" and stayed:
                    change = effect * spread + spread * 0.6 * (
                        0.6 * response[index] + 0.8 * noise[index]
                    )
                    end = groups_service.week_start(group, PROGRAMME_WEEKS)
                    timepoints.append(
                        ("end", pre + better * change, end + timedelta(days=rng.randint(0, 12)))
                    )
                    if index not in missed_follow_up:
                        kept = change * FOLLOW_UP_KEEPS + rng.gauss(0, spread * 0.3)
                        timepoints.append(
                            (
                                "follow_up",
                                pre + better * kept,
                                today - timedelta(days=rng.randint(1, 14)),
                            )
                        )
                for timepoint, value, day in timepoints:
                    value = _clip(instrument, value)
                    kwargs: dict[str, Any] = (
                        {"total": float(round(value)), "entered_by": staff}
                        if not instrument_registry.has_item_text(instrument)
                        else {"answers": _answers_for(instrument, value, rng, fixed)}
                    )
                    if (code, instrument_id, timepoint, index) == (
                        "DEMO-B",
                        "phq9",
                        "end",
                        stayers[0],
                    ):
                        # One paper form with an item left blank: a prorated total, marked so.
                        kwargs["answers"] = {**kwargs["answers"], "q3": None}
                    questionnaires.record_administration(
                        session,
                        enrolment=enrolment,
                        instrument_id=instrument_id,
                        timepoint=timepoint,
                        submitted_at=_at(day, rng),
                        **kwargs,
                    )
        if code == "DEMO-A":
            _seed_weekly_ratings(session, rng, members, today)


def _seed_weekly_ratings(
    session: Session,
    rng: random.Random,
    members: list[tuple[Group, Enrolment, Persona]],
    today: date,
) -> None:
    for group, enrolment, persona in members:
        for week in range(1, PROGRAMME_WEEKS + 1):
            day = groups_service.week_start(group, week) + timedelta(days=rng.randint(0, 6))
            if day >= today or (persona.drop_out_week and week >= persona.drop_out_week):
                break
            if rng.random() > 0.4 + persona.engagement / 2:
                continue  # weekly ratings are optional; not everyone gives them every week
            progress = week / PROGRAMME_WEEKS
            pain = persona.pain - persona.improvement * progress
            for instrument_id, centre in (("pain_intensity", pain), ("pain_distress", pain - 0.5)):
                questionnaires.record_administration(
                    session,
                    enrolment=enrolment,
                    instrument_id=instrument_id,
                    timepoint=f"week_{week}",
                    submitted_at=_at(day, rng),
                    answers={
                        next(
                            iter(instrument_registry.get_instrument(instrument_id).item_ids)
                        ): _rating(rng, centre)
                    },
                )


def demo_logins() -> list[tuple[str, str]]:
    """Every demo login with its role, as `make run` prints them."""
    rows = [(email, role.value) for email, role, _ in STAFF]
    rows.append(("P-A01 ... P-A12", "patient, group DEMO-A (in week 6)"))
    rows.append(("P-B01 ... P-B10", "patient, group DEMO-B (finished)"))
    return rows


# Patients' words for DEMO-B (end-of-programme comments, some shared weekly reflections) and a
# cancelled DEMO-A session, so the coding page, session prep and manage pages have content.
DEMO_END_COMMENTS = (
    ("I feel calmer when the pain flares. I don't panic like I used to.", (0,)),
    ("I pace my days now and stop before I am exhausted.", (1,)),
    ("I am kinder to myself. The pain is still there but it is not my enemy.", (0, 2)),
    ("Practising the breathing every evening helps me get to sleep.", (1,)),
    ("Meeting others who understand made me feel less alone.", ()),
    ("I see that it is not my fault, and I ask for help more.", ()),
)
DEMO_SHARED_REFLECTIONS = (
    (3, "Noticing the threat system kick in was an eye-opener.", False),
    (5, "Sending kind wishes to my neighbour made me smile.", True),
    (6, "I tried the compassionate voice when I dropped a cup. It helped.", False),
)


def _seed_groups_extras(session: Session, rng: random.Random, staff: dict) -> None:
    from app.comments import service as comments_service
    from app.practice.models import Reflection, ReflectionKind

    finished, running = None, None
    for group in groups_service.visible_groups(session, viewer=staff["clinician@demo.example"]):
        if group.code == "DEMO-B":
            finished = group
        elif group.code == "DEMO-A":
            running = group
    assert finished is not None and running is not None
    members = list(groups_service.enrolments(session, group=finished))
    end_at = datetime.combine(
        groups_service.week_start(finished, PROGRAMME_WEEKS + 1),
        time(12),
        tzinfo=ZoneInfo(DEMO_TIMEZONE),
    )
    themes = comments_service.codebook(session, clinic_id=finished.clinic_id)
    coder = staff["facilitator2@demo.example"]
    for enrolment, (text, theme_positions) in zip(members, DEMO_END_COMMENTS, strict=False):
        reflection = Reflection(
            id=_uuid(rng),
            enrolment_id=enrolment.id or 0,
            kind=ReflectionKind.end_of_programme,
            text=text,
            created_at=end_at,
            updated_at=end_at,
        )
        session.add(reflection)
        session.flush()
        if theme_positions:
            comments_service.set_codes(
                session,
                actor=coder,
                group=finished,
                reflection_id=reflection.id,
                theme_ids=[themes[i].id or 0 for i in theme_positions],
            )
    for (week, text, named), enrolment in zip(DEMO_SHARED_REFLECTIONS, members[3:], strict=False):
        at = datetime.combine(
            groups_service.week_start(finished, week) + timedelta(days=3),
            time(20),
            tzinfo=ZoneInfo(DEMO_TIMEZONE),
        )
        session.add(
            Reflection(
                id=_uuid(rng),
                enrolment_id=enrolment.id or 0,
                kind=ReflectionKind.weekly,
                week_number=week,
                text=text,
                share_with_group=True,
                share_name=named,
                created_at=at,
                updated_at=at,
            )
        )
    # DEMO-A: two reflections shared this week (one with a name), for the session-prep digest.
    today_a = groups_service.week_start(running, 6) + timedelta(days=6)
    a_members = list(groups_service.enrolments(session, group=running))
    groups_service.set_contact(session, enrolment=a_members[2], name="Maya", email="", phone="")
    for days_ago, enrolment, text, named in (
        (2, a_members[2], "The compassionate self practice felt awkward, then oddly warm.", True),
        (
            4,
            a_members[5],
            "I used the kind hand on a bad pain day and cried a bit. Good tears.",
            False,
        ),
    ):
        at = datetime.combine(
            today_a - timedelta(days=days_ago), time(21), tzinfo=ZoneInfo(DEMO_TIMEZONE)
        )
        session.add(
            Reflection(
                id=_uuid(rng),
                enrolment_id=enrolment.id or 0,
                kind=ReflectionKind.weekly,
                week_number=6,
                text=text,
                share_with_group=True,
                share_name=named,
                created_at=at,
                updated_at=at,
            )
        )
    # DEMO-A's last session is cancelled (the room is needed); it shows on the manage page.
    meeting = groups_service.get_group_session(session, group=running, number=PROGRAMME_WEEKS)
    meeting.cancelled = True
    session.add(meeting)
