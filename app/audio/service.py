"""Which audio a clinic's patients hear for each exercise."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from app.audio.models import AudioAsset, AudioRendition, AudioStatus
from app.errors import NotFound

# Renditions in the order a player should try them: Opus first (small), AAC for older iPhones.
_PREFERENCE = ("audio/webm", "audio/mp4")


@dataclass(frozen=True)
class ExerciseAudio:
    status: str  # ready, pending, processing, failed, not_built
    renditions: list[AudioRendition]


def media_url(rendition: AudioRendition) -> str:
    """Where a rendition is served."""
    return f"/media/{rendition.filename}"


def _rank(rendition: AudioRendition) -> int:
    base = rendition.mime_type.split(";")[0]
    return _PREFERENCE.index(base) if base in _PREFERENCE else len(_PREFERENCE)


def audio_for_exercises(
    session: Session, *, exercise_ids: Sequence[int], clinic_id: int
) -> dict[int, ExerciseAudio]:
    """The audio each exercise plays in this clinic: its own ready recording if it has one,
    else the shipped one; exercises with nothing ready say what state their audio is in."""
    assets = session.exec(
        select(AudioAsset).where(
            col(AudioAsset.exercise_id).in_(exercise_ids),
            or_(col(AudioAsset.clinic_id).is_(None), col(AudioAsset.clinic_id) == clinic_id),
            col(AudioAsset.status) != AudioStatus.superseded,
        )
    ).all()
    chosen: dict[int, AudioAsset] = {}
    for asset in assets:
        current = chosen.get(asset.exercise_id)
        if current is None or _better(asset, current):
            chosen[asset.exercise_id] = asset
    ready_ids = [a.id for a in chosen.values() if a.status == AudioStatus.ready]
    renditions: dict[int, list[AudioRendition]] = {}
    if ready_ids:
        for rendition in session.exec(
            select(AudioRendition).where(col(AudioRendition.asset_id).in_(ready_ids))
        ).all():
            renditions.setdefault(rendition.asset_id, []).append(rendition)
    result = {}
    for exercise_id in exercise_ids:
        picked = chosen.get(exercise_id)
        if picked is None:
            result[exercise_id] = ExerciseAudio("not_built", [])
            continue
        found = sorted(renditions.get(picked.id or 0, []), key=_rank)
        result[exercise_id] = ExerciseAudio(picked.status.value, found)
    return result


def _better(candidate: AudioAsset, current: AudioAsset) -> bool:
    # A ready asset beats one still in progress; a clinic's own beats the shipped one;
    # otherwise the newer wins.
    def key(asset: AudioAsset) -> tuple[bool, bool, int]:
        return (asset.status == AudioStatus.ready, asset.clinic_id is not None, asset.id or 0)

    return key(candidate) > key(current)


def rendition_for_listener(session: Session, *, filename: str, clinic_id: int) -> AudioRendition:
    """A rendition a member of this clinic may play (shipped audio, or the clinic's own)."""
    found = session.exec(
        select(AudioRendition, AudioAsset)
        .join(AudioAsset, col(AudioAsset.id) == AudioRendition.asset_id)
        .where(AudioRendition.filename == filename)
    ).first()
    if found is None or found[1].clinic_id not in (None, clinic_id):
        raise NotFound("No such recording.")
    return found[0]
