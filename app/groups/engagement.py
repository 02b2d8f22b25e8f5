"""Engagement for staff: the board (who practises, by the group's weeks), gentle flags, one
patient's detail and the session-prep digest. Service-level: reads through other services,
never commits, and applies the programme's one adherence rule everywhere.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from statistics import mean
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.audit import service as audit
from app.clinics import service as clinics_service
from app.clinics.models import User
from app.consent import service as consent_service
from app.groups import service as groups_service
from app.groups.models import AttendanceStatus, Enrolment, EnrolmentStatus, Group, GroupSession
from app.outcomes import due as due_windows
from app.outcomes import safety as safety_flags
from app.practice import service as practice_service
from app.practice.models import Reflection
from app.programme import service as programme_service
from app.programme.adherence import AdherenceRule

QUIET_DAYS = 5  # "no practice for 5 days"
RISING_WEEKS = 3  # "pain rising three weeks running"
RATING_NAMES = ("pain_intensity", "pain_distress", "mood")
MIN_N_FOR_RANKING = 3


class Severity(IntEnum):
    """How urgent a flag is; the board lists the most urgent first."""

    safety = 0  # e.g. a PHQ-9 self-harm answer above 0 (raised by the outcomes domain)
    attention = 1
    info = 2


@dataclass(frozen=True)
class Flag:
    """A gentle prompt about one patient. Any domain may make these for the board to show."""

    kind: str  # "no_practice", "pain_rising", "safety", "questionnaire_overdue", ...
    severity: Severity
    text: str
    enrolment_id: int
    link: str


def sort_flags(flags: Iterable[Flag]) -> list[Flag]:
    """Safety first, then by urgency, then by kind, then patient."""
    return sorted(flags, key=lambda f: (f.severity, f.kind, f.enrolment_id))


class DayState(StrEnum):
    practised = "practised"  # a practice day under the adherence rule
    short = "short"  # some practice, below the rule's minutes
    rated = "rated"  # ratings only, no practice
    nothing = "nothing"
    future = "future"


@dataclass(frozen=True)
class WeekCell:
    number: int
    practice_days: int
    met: bool
    future: bool


@dataclass
class BoardRow:
    enrolment: Enrolment
    days: list[DayState]
    weeks: list[WeekCell]
    last_activity: date | None
    weeks_met: int
    completer: bool
    minutes_this_week: int
    flags: list[Flag] = field(default_factory=list)

    @property
    def practice_days_this_week(self) -> int:
        return sum(1 for d in self.days if d == DayState.practised)


@dataclass
class Board:
    group: Group
    rule: AdherenceRule
    today: date
    week: int  # the programme week shown in the day grid (1..total)
    days: list[date]
    rows: list[BoardRow]
    flags: list[Flag]
    total_weeks: int


def patient_link(group: Group, enrolment: Enrolment) -> str:
    """Where a flag about this patient leads: their detail page."""
    return f"/groups/{group.code}/patients/{enrolment.participant_code}"


def group_today(session: Session, group: Group) -> date:
    """Today by the group's clinic calendar."""
    return clinics_service.today_at(clinics_service.get_clinic(session, group.clinic_id))


def rule_for(session: Session, group: Group) -> AdherenceRule:
    """The adherence rule of the group's programme in the group's clinic."""
    programme = programme_service.get_programme(session, group.programme_id)
    return programme_service.adherence_rule(session, programme, clinic_id=group.clinic_id)


def _shown_week(group: Group, today: date, total_weeks: int) -> int:
    return min(max(groups_service.programme_week_on(group, today), 1), max(total_weeks, 1))


def _weekly_means(
    ratings: Sequence[practice_service.RatingRow], group: Group, name: str
) -> dict[int, float]:
    by_week: dict[int, list[int]] = {}
    for row in ratings:
        value = getattr(row, name)
        if value is not None and row.local_date >= group.start_date:
            week = groups_service.programme_week_on(group, row.local_date)
            by_week.setdefault(week, []).append(value)
    return {week: sum(values) / len(values) for week, values in by_week.items()}


def pain_rising(weekly_pain: dict[int, float], current_week: int) -> list[float] | None:
    """The last three weekly pain means if each is higher than the one before, else None."""
    weeks = [w for w in sorted(weekly_pain) if w <= current_week]
    if len(weeks) < RISING_WEEKS:
        return None
    last = weeks[-RISING_WEEKS:]
    if last != list(range(last[0], last[0] + RISING_WEEKS)):
        return None  # a week without ratings breaks the run
    values = [weekly_pain[w] for w in last]
    if all(a < b for a, b in zip(values, values[1:], strict=False)):
        return values
    return None


def build_board(
    session: Session,
    *,
    group: Group,
    today: date,
    extra_flags: Sequence[Flag] = (),
) -> Board:
    """The engagement board: this week's days, the programme's weeks, last activity, flags.

    Flags other domains raise (see ``flags_from_other_domains``) and any ``extra_flags`` are
    merged and sorted with the board's own, safety first.
    """
    rule = rule_for(session, group)
    total = rule.total_weeks
    week = _shown_week(group, today, total)
    week_first = groups_service.week_start(group, week)
    days = [week_first + timedelta(days=i) for i in range(groups_service.DAYS_PER_WEEK)]
    members = list(groups_service.enrolments(session, group=group))
    ids = [e.id for e in members if e.id is not None]
    programme_last = groups_service.week_start(group, total + 1) - timedelta(days=1)
    minutes = practice_service.daily_minutes(
        session, enrolment_ids=ids, first=group.start_date, last=max(programme_last, today)
    )
    ratings = practice_service.ratings_between(
        session, enrolment_ids=ids, first=group.start_date, last=max(programme_last, today)
    )
    bad_days = practice_service.bad_days(
        session, enrolment_ids=ids, first=group.start_date, last=max(programme_last, today)
    )
    rated_days: dict[int, set[date]] = {}
    ratings_by_enrolment: dict[int, list[practice_service.RatingRow]] = {}
    for rating in ratings:
        rated_days.setdefault(rating.enrolment_id, set()).add(rating.local_date)
        ratings_by_enrolment.setdefault(rating.enrolment_id, []).append(rating)
    latest = practice_service.last_activity(session, enrolment_ids=ids)
    last_practice = {
        eid: max(by_day) for eid, by_day in minutes.items() if by_day
    }  # within the programme window
    current_week = groups_service.programme_week_on(group, today)
    running = 1 <= current_week <= total
    rows = []
    for enrolment in members:
        eid = enrolment.id or 0
        by_day = minutes.get(eid, {})
        practice_days = rule.practice_days(by_day, bad_days.get(eid, set()))
        states = []
        for day in days:
            if day > today:
                states.append(DayState.future)
            elif day in practice_days:
                states.append(DayState.practised)
            elif day in by_day:
                states.append(DayState.short)
            elif day in rated_days.get(eid, set()):
                states.append(DayState.rated)
            else:
                states.append(DayState.nothing)
        cells = []
        for number in range(1, total + 1):
            first = groups_service.week_start(group, number)
            count = sum(1 for d in practice_days if first <= d < first + timedelta(days=7))
            cells.append(WeekCell(number, count, rule.week_met(count), future=first > today))
        row = BoardRow(
            enrolment=enrolment,
            days=states,
            weeks=cells,
            last_activity=latest.get(eid),
            weeks_met=sum(1 for c in cells if c.met),
            completer=rule.is_completer(c.met for c in cells),
            minutes_this_week=round(sum(by_day.get(day, 0) for day in days)),
        )
        if running and enrolment.status == EnrolmentStatus.active:
            row.flags = _own_flags(
                group,
                enrolment,
                today,
                last_practice.get(eid),
                ratings_by_enrolment.get(eid, []),
                current_week,
            )
        rows.append(row)
    own = [flag for row in rows for flag in row.flags]
    others = flags_from_other_domains(session, group=group, today=today)
    active = {e.id for e in members if e.status == EnrolmentStatus.active}
    others = [f for f in [*others, *extra_flags] if f.enrolment_id in active]
    flags = sort_flags([*own, *others])
    by_enrolment: dict[int, list[Flag]] = {}
    for flag in flags:
        by_enrolment.setdefault(flag.enrolment_id, []).append(flag)
    for row in rows:
        row.flags = by_enrolment.get(row.enrolment.id or 0, [])
    return Board(group, rule, today, week, days, rows, flags, total)


def flags_from_other_domains(session: Session, *, group: Group, today: date) -> list[Flag]:
    """Flags from the outcomes domain: open safety flags (listed first) and questionnaires
    overdue, for the board and the patient page."""
    enrolments = {
        e.id: e
        for e in groups_service.enrolments(session, group=group)
        if e.status == EnrolmentStatus.active
    }
    flags = [
        Flag(
            kind="safety",
            severity=Severity.safety,
            text=f"Safety: {view.instrument} answer needs following up (raised "
            f"{view.flag.raised_at:%d %b}){', overdue' if view.overdue else ''}",
            enrolment_id=view.flag.enrolment_id,
            link=f"/outcomes/safety-flags/{view.flag.id}",
        )
        for view in safety_flags.open_safety_flags_in(session, group_ids=[group.id or 0])
        if view.flag.enrolment_id in enrolments
    ]
    overdue = due_windows.overdue_questionnaires(
        session, group=group, enrolment_ids=[e for e in enrolments if e is not None], today=today
    )
    for enrolment_id, items in overdue.items():
        if items:
            names = ", ".join(item.instrument.short_name for item in items)
            flags.append(
                Flag(
                    kind="questionnaire_overdue",
                    severity=Severity.info,
                    text=f"Questionnaire overdue: {names}",
                    enrolment_id=enrolment_id,
                    link=patient_link(group, enrolments[enrolment_id]),
                )
            )
    return flags


def _own_flags(
    group: Group,
    enrolment: Enrolment,
    today: date,
    last_practice: date | None,
    ratings: Sequence[practice_service.RatingRow],
    current_week: int,
) -> list[Flag]:
    flags = []
    link = patient_link(group, enrolment)
    since = last_practice or group.start_date - timedelta(days=1)
    quiet = (today - since).days
    if quiet >= QUIET_DAYS and (today - group.start_date).days >= QUIET_DAYS:
        text = (
            f"No practice for {quiet} days"
            if last_practice
            else f"No practice yet ({quiet} days since the group started)"
        )
        flags.append(Flag("no_practice", Severity.attention, text, enrolment.id or 0, link))
    rising = pain_rising(_weekly_means(ratings, group, "pain_intensity"), current_week)
    if rising:
        trail = " → ".join(f"{v:.1f}" for v in rising)
        flags.append(
            Flag(
                "pain_rising",
                Severity.attention,
                f"Pain rising three weeks running (weekly average {trail})",
                enrolment.id or 0,
                link,
            )
        )
    return flags


# --- One patient ---


@dataclass
class PatientDetail:
    enrolment: Enrolment
    rule: AdherenceRule
    weeks: list[WeekCell]
    minutes_by_week: dict[int, int]
    weekly_ratings: dict[str, dict[int, float]]
    attendance: list[tuple[GroupSession, AttendanceStatus | None]]
    reflections: list[Reflection]
    last_activity: date | None
    flags: list[Flag]

    @property
    def attendance_by_week(self) -> dict[int, tuple[GroupSession, AttendanceStatus | None]]:
        return {meeting.number: (meeting, status) for meeting, status in self.attendance}


def patient_detail(
    session: Session, *, group: Group, enrolment: Enrolment, today: date
) -> PatientDetail:
    """One patient's practice by week, ratings over time, attendance and shared words."""
    board = build_board(session, group=group, today=today)
    row = next(r for r in board.rows if r.enrolment.id == enrolment.id)
    eid = enrolment.id or 0
    end = max(groups_service.week_start(group, board.total_weeks + 1), today)
    by_day = practice_service.daily_minutes(
        session, enrolment_ids=[eid], first=group.start_date, last=end
    ).get(eid, {})
    minutes_by_week: dict[int, int] = {}
    for day, minutes in by_day.items():
        number = groups_service.programme_week_on(group, day)
        minutes_by_week[number] = minutes_by_week.get(number, 0) + round(minutes)
    ratings = practice_service.ratings_between(
        session, enrolment_ids=[eid], first=group.start_date, last=end
    )
    weekly = {name: _weekly_means(ratings, group, name) for name in RATING_NAMES}
    attended = groups_service.attendance_of(session, enrolment=enrolment)
    meetings = groups_service.group_sessions(session, group=group)
    return PatientDetail(
        enrolment=enrolment,
        rule=board.rule,
        weeks=row.weeks,
        minutes_by_week=minutes_by_week,
        weekly_ratings=weekly,
        attendance=[(m, attended.get(m.number)) for m in meetings],
        reflections=practice_service.enrolment_reflections(session, enrolment_id=eid),
        last_activity=row.last_activity,
        flags=row.flags,
    )


# --- Session prep ---


@dataclass(frozen=True)
class RatingAverages:
    pain_intensity: float | None
    pain_distress: float | None
    mood: float | None
    n: int


@dataclass(frozen=True)
class HelpfulPractice:
    title: str
    n: int
    pain_intensity_change: float
    pain_distress_change: float
    mood_change: float


@dataclass(frozen=True)
class SharedWords:
    text: str
    week_number: int | None
    name: str | None  # only when the patient allowed their name to be shown


@dataclass
class SessionPrep:
    group: Group
    meeting: GroupSession
    rule: AdherenceRule
    period: tuple[date, date]
    previous: tuple[date, date]
    active: int
    practised: int  # patients with any practice in the period
    met_target: int  # patients whose period met the rule's week target
    practice_days: list[int]  # per active patient, practice days under the rule
    total_sessions: int  # practices logged in the period
    this_week: RatingAverages
    last_week: RatingAverages
    helpful: list[HelpfulPractice]
    helpful_since: date
    reflections: list[SharedWords]


def _averages(rows: Sequence[practice_service.RatingRow]) -> RatingAverages:
    def avg(name: str) -> float | None:
        values = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        return round(mean(values), 1) if values else None

    return RatingAverages(avg("pain_intensity"), avg("pain_distress"), avg("mood"), len(rows))


def prepare_session(
    session: Session, *, group: Group, meeting: GroupSession, today: date
) -> SessionPrep:
    """The digest before a meeting: the seven days before it against the seven before those."""
    rule = rule_for(session, group)
    zone = clinics_service.get_clinic(session, group.clinic_id).timezone
    meeting_day = _local_date(meeting.starts_at, zone)
    period = (meeting_day - timedelta(days=7), min(meeting_day - timedelta(days=1), today))
    previous = (meeting_day - timedelta(days=14), meeting_day - timedelta(days=8))
    members = [
        e
        for e in groups_service.enrolments(session, group=group)
        if e.status == EnrolmentStatus.active
    ]
    ids = [e.id for e in members if e.id is not None]
    minutes = practice_service.daily_minutes(
        session, enrolment_ids=ids, first=period[0], last=period[1]
    )
    bad_days = practice_service.bad_days(
        session, enrolment_ids=ids, first=period[0], last=period[1]
    )
    practice_days = [
        len(rule.practice_days(minutes.get(eid, {}), bad_days.get(eid, set()))) for eid in ids
    ]
    practised = sum(1 for eid in ids if minutes.get(eid))
    total_sessions = sum(len(by_day) for by_day in minutes.values())
    this_rows = practice_service.ratings_between(
        session, enrolment_ids=ids, first=period[0], last=period[1]
    )
    last_rows = practice_service.ratings_between(
        session, enrolment_ids=ids, first=previous[0], last=previous[1]
    )
    helpful_since = group.start_date
    changes = practice_service.rating_changes(
        session, enrolment_ids=ids, first=helpful_since, last=period[1]
    )
    contacts = groups_service.contacts(session, enrolment_ids=ids)
    names = {e.id: (contacts[e.id].name if e.id in contacts else "") for e in members}
    words = [
        SharedWords(
            text=r.text,
            week_number=r.week_number,
            name=(names.get(r.enrolment_id) or None) if r.share_name else None,
        )
        for r in practice_service.shared_reflections(
            session, enrolment_ids=ids, first=period[0], last=period[1]
        )
    ]
    return SessionPrep(
        group=group,
        meeting=meeting,
        rule=rule,
        period=period,
        previous=previous,
        active=len(ids),
        practised=practised,
        met_target=sum(1 for days in practice_days if rule.week_met(days)),
        practice_days=practice_days,
        total_sessions=total_sessions,
        this_week=_averages(this_rows),
        last_week=_averages(last_rows),
        helpful=_helpful(changes),
        helpful_since=helpful_since,
        reflections=words,
    )


def _local_date(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def _helpful(changes: Sequence[practice_service.RatingChange]) -> list[HelpfulPractice]:
    by_title: dict[str, list[practice_service.RatingChange]] = {}
    for change in changes:
        by_title.setdefault(change.exercise_title, []).append(change)

    def delta(items: list[practice_service.RatingChange], name: str) -> float:
        pairs = [
            getattr(c.after, name) - getattr(c.before, name)
            for c in items
            if getattr(c.after, name) is not None and getattr(c.before, name) is not None
        ]
        return round(mean(pairs), 1) if pairs else 0.0

    helpful = [
        HelpfulPractice(
            title=title,
            n=len(items),
            pain_intensity_change=delta(items, "pain_intensity"),
            pain_distress_change=delta(items, "pain_distress"),
            mood_change=delta(items, "mood"),
        )
        for title, items in by_title.items()
    ]
    # Most helpful first: the largest fall in pain distress, then in pain, then the larger n;
    # practices rated fewer than three times go last, as their averages say little.
    return sorted(
        helpful,
        key=lambda h: (
            h.n < MIN_N_FOR_RANKING,
            h.pain_distress_change,
            h.pain_intensity_change,
            -h.n,
            h.title,
        ),
    )


def record_board_view(session: Session, *, actor: User, group: Group) -> None:
    """Audit a look at the group's patient-level engagement."""
    audit.record(
        session,
        action="view_group_practice",
        actor=actor,
        clinic_id=group.clinic_id,
        object_type="group",
        object_id=group.code,
    )


def consent_states(session: Session, *, group: Group, board: Board) -> dict[int, str]:
    """Each patient's consent state on the board: enrolment id -> given, outdated (asked
    again at their next visit), missing or not_asked (the clinic published no sheet)."""
    pairs = [(row.enrolment.id or 0, row.enrolment.user_id) for row in board.rows]
    return consent_service.states_by_enrolment(session, clinic_id=group.clinic_id, enrolments=pairs)
