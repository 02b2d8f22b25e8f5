"""What the patient's pages show: Today, the player and My progress, built from the services."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from app.errors import NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.i18n import N_
from app.practice import progress
from app.practice import service as practice_service
from app.practice.schemas import ReflectionRead
from app.programme import service as programme_service
from app.programme.adherence import AdherenceRule
from app.programme.schemas import ExerciseRead, ProgrammeRead, WeekRead
from app.programme.views import patient_programme


@dataclass(frozen=True)
class TodayView:
    programme: ProgrammeRead
    week: WeekRead | None  # the week shown: the current one unless an earlier one was asked for
    week_text: programme_service.WeekText | None  # its teaching, prompt and home practice
    is_current_week: bool
    open_weeks: list[WeekRead]
    practices: list[ExerciseRead]  # core and anytime practices
    flare_practices: list[ExerciseRead]
    rule: AdherenceRule
    this_week: progress.WeekProgress | None
    # Each practice's renditions, for "save this week for offline" to pick the playable one.
    offline_renditions: list[list[dict[str, str]]]
    # The first card: today's practice from the current week's plan, and the bad-day one.
    todays_practice: ExerciseRead | None
    bad_day_practice: ExerciseRead | None
    today_minutes: int  # practised today so far: the week's circles update from it at once
    today_counted: bool  # today already counts as a practice day


def _todays_practice(exercises: list[ExerciseRead], day_of_week: int) -> ExerciseRead | None:
    """The week's core practices take turns, one a day, so each day names one."""
    core = [e for e in exercises if e.role == "core"] or exercises
    return core[day_of_week % len(core)] if core else None


def _bad_day_practice(exercises: list[ExerciseRead]) -> ExerciseRead | None:
    """The shortest flare practice (else the shortest any-time one) of the week."""
    for role in ("flare", "anytime"):
        found = sorted((e for e in exercises if e.role == role), key=lambda e: e.minutes)
        if found:
            return found[0]
    return None


def _week_texts(
    session: Session, outlines: list[programme_service.WeekOutline], language: str
) -> dict[int, programme_service.WeekText]:
    """Each week's words in ``language`` where translated, by week number."""
    weeks = [o.week for o in outlines]
    texts = programme_service.week_texts(session, weeks, language)
    return {week.number: texts[week.id or 0] for week in weeks}


def _bad_days(session: Session, enrolment: Enrolment) -> set[date]:
    found = practice_service.bad_days(session, enrolment_ids=[enrolment.id or 0])
    return found.get(enrolment.id or 0, set())


def today_view(
    session: Session,
    *,
    group: Group,
    enrolment: Enrolment,
    today: date,
    week_number: int | None,
    language: str,
) -> TodayView:
    """Today: the group's current week (or an earlier open one), its practices and the target,
    in ``language`` where the programme is translated."""
    outlines = programme_service.outline(session, group.programme_id)
    programme = patient_programme(
        session, group=group, today=today, language=language, outlines=outlines
    )
    current = max(programme.current_week, 1)
    open_weeks = [w for w in programme.weeks if w.unlocked] or programme.weeks[:1]
    chosen = week_number if week_number and 1 <= week_number <= current else current
    week = programme.weeks[chosen - 1] if programme.weeks else None
    texts = _week_texts(session, outlines, language)
    rule = programme_service.adherence_rule(
        session,
        programme_service.get_programme(session, group.programme_id),
        clinic_id=group.clinic_id,
    )
    this_week = None
    minutes: dict[date, float] = {}
    bad_days: set[date] = set()
    current_exercises = programme.weeks[current - 1].exercises if programme.weeks else []
    day_of_week = 0
    if programme.current_week >= 1:
        start = groups_service.week_start(group, programme.current_week)
        day_of_week = (today - start).days
        minutes = practice_service.minutes_by_day(session, enrolment=enrolment)
        bad_days = _bad_days(session, enrolment)
        this_week = progress.weekly_progress(
            rule,
            week_starts=[(programme.current_week, start)],
            minutes=minutes,
            bad_days=bad_days,
        )[0]
    exercises = week.exercises if week else []
    return TodayView(
        programme=programme,
        week=week,
        week_text=texts.get(chosen),
        is_current_week=chosen == current,
        open_weeks=open_weeks,
        practices=[e for e in exercises if e.role != "flare"],
        flare_practices=[e for e in exercises if e.role == "flare"],
        rule=rule,
        this_week=this_week,
        offline_renditions=[
            [{"url": r.url, "mime_type": r.mime_type} for r in e.renditions]
            for e in exercises
            if e.renditions
        ],
        todays_practice=_todays_practice(current_exercises, day_of_week),
        bad_day_practice=_bad_day_practice(current_exercises),
        today_minutes=round(minutes.get(today, 0)),
        today_counted=today in rule.practice_days(minutes, bad_days),
    )


@dataclass(frozen=True)
class PlayerView:
    exercise: ExerciseRead
    week: WeekRead
    language: str  # the patient's
    # The transcript's paragraphs, shown on the player when the audio is in another language.
    transcript: list[str]

    @property
    def recording_in_another_language(self) -> bool:
        """Whether the audio is in another language than the patient's (no recording in
        theirs yet), so the player says so and shows the words beside it."""
        return bool(self.exercise.renditions) and self.exercise.audio_language != self.language

    @property
    def renditions(self) -> list[dict[str, object]]:
        """The renditions as the player script reads them."""
        return [r.model_dump() for r in self.exercise.renditions]


def player_view(
    session: Session, *, group: Group, today: date, exercise_id: int, language: str
) -> PlayerView:
    """One practice with its audio, from the latest week that offers it, in ``language`` where
    the programme is translated."""
    programme = patient_programme(session, group=group, today=today, language=language)
    found = None
    for week in programme.weeks:
        for exercise in week.exercises:
            if exercise.id == exercise_id and (found is None or week.unlocked):
                found = (exercise, week)
    if found is None:
        raise NotFound(N_("No such practice in your programme."))
    exercise, week = found
    text = programme_service.exercise_text(session, exercise_id, language)
    return PlayerView(exercise, week, language, programme_service.transcript(text.script))


@dataclass(frozen=True)
class ProgressView:
    rule: AdherenceRule
    weeks: list[progress.WeekProgress]
    ratings: list[progress.WeekRatings]
    chart: progress.Chart
    effects: list[progress.PracticeEffect]
    total_minutes: int
    pain_change: progress.RatingChange | None


def progress_view(
    session: Session, *, group: Group, enrolment: Enrolment, today: date
) -> ProgressView:
    """My progress: practice days per week against the target, ratings, what seems to help."""
    programme = programme_service.get_programme(session, group.programme_id)
    rule = programme_service.adherence_rule(session, programme, clinic_id=group.clinic_id)
    shown = min(max(groups_service.programme_week_on(group, today), 1), rule.total_weeks or 1)
    week_starts = [(n, groups_service.week_start(group, n)) for n in range(1, shown + 1)]
    minutes = practice_service.minutes_by_day(session, enrolment=enrolment)
    ratings = progress.weekly_ratings(
        practice_service.ratings_by_day(session, enrolment=enrolment), week_starts=week_starts
    )
    effects = progress.practice_effects(
        (r.label, r.before, r.after)
        for r in practice_service.rated_practices(session, enrolment=enrolment)
    )
    return ProgressView(
        rule=rule,
        weeks=progress.weekly_progress(
            rule, week_starts=week_starts, minutes=minutes, bad_days=_bad_days(session, enrolment)
        ),
        ratings=ratings,
        chart=progress.ratings_chart(ratings),
        effects=effects,
        total_minutes=round(sum(minutes.values())),
        pain_change=progress.rating_change(ratings, "pain_intensity"),
    )


@dataclass(frozen=True)
class ReflectionsView:
    week: programme_service.WeekText | None
    weeks_in_programme: int
    is_last_week_or_after: bool
    weekly: ReflectionRead | None
    end: ReflectionRead | None
    earlier: list[ReflectionRead]


def reflections_view(
    session: Session, *, group: Group, enrolment: Enrolment, today: date, language: str
) -> ReflectionsView:
    """This week's reflection prompt (in ``language`` where translated), the end-of-programme
    question, and earlier reflections."""
    texts = _week_texts(session, programme_service.outline(session, group.programme_id), language)
    total = len(texts)
    current = min(max(groups_service.programme_week_on(group, today), 1), max(total, 1))
    mine = practice_service.list_reflections(session, enrolment=enrolment)
    weekly = next((r for r in mine if r.kind == "weekly" and r.week_number == current), None)
    end = next((r for r in mine if r.kind == "end_of_programme"), None)
    return ReflectionsView(
        week=texts.get(current),
        weeks_in_programme=total,
        is_last_week_or_after=current >= total,
        weekly=weekly,
        end=end,
        earlier=[r for r in mine if r is not weekly and r is not end],
    )
