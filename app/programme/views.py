"""The patient's programme as the API and the pages show it: weeks, what is open, the audio."""

from datetime import date

from sqlmodel import Session

from app.audio import service as audio_service
from app.audio.service import ExerciseAudio
from app.groups import service as groups_service
from app.groups.models import Group
from app.programme import service as programme_service
from app.programme.models import Exercise, WeekPractice
from app.programme.schemas import ExerciseRead, ProgrammeRead, RenditionRead, WeekRead
from app.programme.service import ExerciseText


def _exercise_read(
    practice: WeekPractice, exercise: Exercise, text: ExerciseText, audio: ExerciseAudio
) -> ExerciseRead:
    assert exercise.id is not None
    renditions = [
        RenditionRead(
            url=audio_service.media_url(r),
            mime_type=r.mime_type,
            bitrate_kbps=round(r.bitrate_kbps, 1),
            duration_seconds=round(r.duration_seconds, 2),
            size_bytes=r.size_bytes,
            loudness_lufs=round(r.loudness_lufs, 1),
        )
        for r in audio.renditions
    ]
    return ExerciseRead(
        id=exercise.id,
        key=exercise.key,
        language=text.language,
        title=text.title,
        kind=exercise.kind.value,
        role=practice.role.value,
        minutes=exercise.minutes,
        summary=text.summary,
        transcript_url=f"/exercises/{exercise.id}/transcript",
        transcript_language=text.script_language,
        renditions=renditions,
        audio_status=audio.status,
        # Rendered from the original script (or a clinic's upload of it), never a translation.
        audio_language=programme_service.ORIGINAL_LANGUAGE,
    )


def patient_programme(
    session: Session,
    *,
    group: Group,
    today: date,
    language: str,
    outlines: list[programme_service.WeekOutline] | None = None,
) -> ProgrammeRead:
    """The programme of the patient's group, with each week's unlock state for ``today``, in
    ``language`` where the programme is translated (``outlines``: the programme's, when the
    caller has read them already)."""
    programme = programme_service.get_programme(session, group.programme_id)
    if outlines is None:
        outlines = programme_service.outline(session, programme.id or 0)
    is_open = groups_service.open_weeks(
        group,
        [o.week.number for o in outlines],
        today=today,
        overrides=groups_service.week_overrides(session, group=group),
    )
    audio = audio_service.audio_for_exercises(
        session,
        exercise_ids=[e.id for o in outlines for _, e in o.practices if e.id is not None],
        clinic_id=group.clinic_id,
    )
    week_texts = programme_service.week_texts(session, [o.week for o in outlines], language)
    exercise_texts = programme_service.exercise_texts(
        session, [e for o in outlines for _, e in o.practices], language
    )
    weeks = [
        WeekRead(
            number=outline.week.number,
            language=week_texts[outline.week.id or 0].language,
            title=week_texts[outline.week.id or 0].title,
            theme=week_texts[outline.week.id or 0].theme,
            unlocked=is_open[outline.week.number],
            starts_on=groups_service.week_start(group, outline.week.number).isoformat(),
            exercises=[
                _exercise_read(p, e, exercise_texts[e.id or 0], audio[e.id or 0])
                for p, e in outline.practices
            ],
        )
        for outline in outlines
    ]
    return ProgrammeRead(
        key=programme.key,
        title=programme.title,
        current_week=min(groups_service.programme_week_on(group, today), len(weeks)),
        target_minutes_per_day=programme.target_minutes_per_day,
        target_days_per_week=programme.target_days_per_week,
        weeks=weeks,
    )
