"""The patient's view of their programme (CONTRACT: GET /api/v1/programme)."""

from pydantic import BaseModel


class RenditionRead(BaseModel):
    url: str
    mime_type: str
    bitrate_kbps: float
    duration_seconds: float
    size_bytes: int
    loudness_lufs: float  # integrated, measured from the encoded file


class ExerciseRead(BaseModel):
    id: int
    key: str
    # The title and summary are in ``language``: the patient's where the programme translates
    # them, else the original's; the transcript and the audio each say theirs.
    language: str
    title: str
    kind: str
    role: str
    minutes: int
    summary: str
    transcript_url: str
    transcript_language: str
    # Empty until the exercise's audio has been rendered; audio_status says why.
    renditions: list[RenditionRead]
    audio_status: str
    audio_language: str


class WeekRead(BaseModel):
    number: int
    language: str  # of the title and theme (and the week's teaching on Today)
    title: str
    theme: str
    unlocked: bool
    starts_on: str
    exercises: list[ExerciseRead]


class ProgrammeRead(BaseModel):
    key: str
    title: str
    current_week: int
    target_minutes_per_day: int
    target_days_per_week: int
    weeks: list[WeekRead]
