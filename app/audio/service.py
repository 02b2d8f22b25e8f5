"""Which audio a clinic's patients hear for each exercise."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from app.audio.models import AudioAsset, AudioRendition, AudioSource, AudioStatus
from app.audio.processing import Rendition
from app.audit import service as audit_service
from app.clinics.models import User
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


_STATUS_RANK = {AudioStatus.ready: 2, AudioStatus.processing: 1, AudioStatus.pending: 1}


def _better(candidate: AudioAsset, current: AudioAsset) -> bool:
    # A ready asset beats one in progress, which beats a failed one; a clinic's own beats
    # the shipped one; otherwise the newer wins.
    def key(asset: AudioAsset) -> tuple[int, bool, int]:
        rank = _STATUS_RANK.get(asset.status, 0)
        return (rank, asset.clinic_id is not None, asset.id or 0)

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


# A claimed job whose worker has been silent this long is taken to have crashed.
LEASE = timedelta(hours=1)


@dataclass(frozen=True)
class BuildKey:
    """What a synthetic rendering depends on: the script, the pipeline and the voice."""

    source_sha256: str
    pipeline_version: str
    voice_id: str


def plan_synthetic(
    session: Session, *, exercise_id: int, key: BuildKey, media_dir: Path
) -> AudioAsset | None:
    """The shipped asset to render for this exercise, or None when its audio is current.

    A ready asset with the same key and all its files is current. Otherwise an asset with
    this key still waiting (or one that failed: a build tries again) is reused, or a new
    pending one is added. Out-of-date unfinished assets are dropped as superseded; an
    out-of-date ready one stays playable until its replacement is ready.
    """
    assets = session.exec(
        select(AudioAsset).where(
            AudioAsset.exercise_id == exercise_id,
            col(AudioAsset.clinic_id).is_(None),
            col(AudioAsset.status) != AudioStatus.superseded,
        )
    ).all()
    for asset in assets:
        current = _key_of(asset) == key and asset.status == AudioStatus.ready
        if current and all(
            (media_dir / r.filename).is_file() for r in renditions_of(session, asset)
        ):
            return None
    reusable = None
    for asset in sorted(assets, key=lambda a: a.id or 0):
        if asset.status == AudioStatus.ready:
            continue
        if _key_of(asset) == key and reusable is None:
            if asset.status == AudioStatus.failed:
                asset.status, asset.error = AudioStatus.pending, ""
                session.add(asset)
            reusable = asset
        else:
            asset.status = AudioStatus.superseded
            session.add(asset)
    if reusable is not None:
        return reusable
    asset = AudioAsset(
        exercise_id=exercise_id,
        source=AudioSource.synthetic,
        source_sha256=key.source_sha256,
        pipeline_version=key.pipeline_version,
        voice_id=key.voice_id,
    )
    session.add(asset)
    session.flush()
    return asset


def _key_of(asset: AudioAsset) -> BuildKey:
    return BuildKey(asset.source_sha256, asset.pipeline_version, asset.voice_id)


def renditions_of(session: Session, asset: AudioAsset) -> list[AudioRendition]:
    """An asset's renditions, the preferred one first."""
    found = session.exec(select(AudioRendition).where(AudioRendition.asset_id == asset.id)).all()
    return sorted(found, key=_rank)


def claim_asset(session: Session, *, asset_id: int, now: datetime) -> bool:
    """Take a pending job (or one whose worker's lease ran out); False if another has it."""
    result = session.exec(
        update(AudioAsset)
        .where(
            col(AudioAsset.id) == asset_id,
            or_(
                col(AudioAsset.status) == AudioStatus.pending,
                (col(AudioAsset.status) == AudioStatus.processing)
                & (col(AudioAsset.started_at) < now - LEASE),
            ),
        )
        .values(status=AudioStatus.processing, started_at=now, error="")
    )
    return bool(result.rowcount == 1)


def claimable_uploads(session: Session, *, now: datetime) -> list[int]:
    """Uploads waiting for a worker, or abandoned by one, oldest first."""
    found = session.exec(
        select(AudioAsset.id)
        .where(
            AudioAsset.source == AudioSource.upload,
            or_(
                col(AudioAsset.status) == AudioStatus.pending,
                (col(AudioAsset.status) == AudioStatus.processing)
                & (col(AudioAsset.started_at) < now - LEASE),
            ),
        )
        .order_by(col(AudioAsset.id))
    ).all()
    return [asset_id for asset_id in found if asset_id is not None]


def get_asset(session: Session, asset_id: int) -> AudioAsset:
    """The asset with this id, or 404."""
    asset = session.get(AudioAsset, asset_id)
    if asset is None:
        raise NotFound("No such recording.")
    return asset


def complete_asset(
    session: Session, *, asset_id: int, renditions: Sequence[Rendition], now: datetime
) -> AudioAsset:
    """Store an asset's renditions and make it the one its listeners hear.

    Older assets for the same exercise and clinic (or the shipped set) are superseded now,
    not before: until this moment they kept playing. If a newer one is already ready (an
    earlier upload that finished late), this one is superseded instead.
    """
    asset = get_asset(session, asset_id)
    for rendition in renditions:
        session.add(
            AudioRendition(
                asset_id=asset_id,
                filename=rendition.path.name,
                mime_type=rendition.mime_type,
                codec=rendition.codec,
                bitrate_kbps=rendition.bitrate_kbps,
                duration_seconds=rendition.duration_seconds,
                size_bytes=rendition.size_bytes,
                loudness_lufs=rendition.loudness_lufs,
                true_peak_dbfs=rendition.true_peak_dbfs,
                sha256=rendition.sha256,
            )
        )
    clinic_match = (
        col(AudioAsset.clinic_id).is_(None)
        if asset.clinic_id is None
        else col(AudioAsset.clinic_id) == asset.clinic_id
    )
    siblings = session.exec(
        select(AudioAsset).where(
            AudioAsset.exercise_id == asset.exercise_id,
            clinic_match,
            col(AudioAsset.id) != asset_id,
            col(AudioAsset.status) == AudioStatus.ready,
        )
    ).all()
    asset.status, asset.ready_at, asset.error = AudioStatus.ready, now, ""
    for sibling in siblings:
        if (sibling.id or 0) < asset_id:
            sibling.status = AudioStatus.superseded
            session.add(sibling)
        else:
            asset.status = AudioStatus.superseded
    session.add(asset)
    return asset


def fail_asset(session: Session, *, asset_id: int, error: str) -> AudioAsset:
    """Record why a job failed; whatever played before keeps playing."""
    asset = get_asset(session, asset_id)
    asset.status, asset.error = AudioStatus.failed, error[:2000]
    session.add(asset)
    return asset


def add_upload(
    session: Session, *, exercise_id: int, actor: User, original_filename: str, sha256: str
) -> AudioAsset:
    """Queue a clinic's own recording of an exercise for processing; audited."""
    asset = AudioAsset(
        exercise_id=exercise_id,
        clinic_id=actor.clinic_id,
        source=AudioSource.upload,
        source_sha256=sha256,
        pipeline_version="",
        original_filename=original_filename[:255],
    )
    session.add(asset)
    session.flush()
    audit_service.record(
        session,
        action="audio.upload",
        actor=actor,
        object_type="audio_asset",
        object_id=asset.id,
        exercise_id=exercise_id,
        sha256=sha256,
    )
    return asset


@dataclass(frozen=True)
class ExerciseAudioAdmin:
    """What an admin sees of one exercise's audio in their clinic."""

    playing: AudioAsset | None
    renditions: list[AudioRendition]
    latest_upload: AudioAsset | None


def audio_for_admin(
    session: Session, *, exercise_ids: Sequence[int], clinic_id: int
) -> dict[int, ExerciseAudioAdmin]:
    """For each exercise: the audio the clinic's patients hear, and its newest upload."""
    assets = session.exec(
        select(AudioAsset).where(
            col(AudioAsset.exercise_id).in_(exercise_ids),
            or_(col(AudioAsset.clinic_id).is_(None), col(AudioAsset.clinic_id) == clinic_id),
        )
    ).all()
    result = {}
    for exercise_id in exercise_ids:
        mine = [a for a in assets if a.exercise_id == exercise_id]
        ready = [a for a in mine if a.status == AudioStatus.ready]
        playing = max(ready, key=lambda a: (a.clinic_id is not None, a.id or 0), default=None)
        uploads = [a for a in mine if a.clinic_id is not None]
        latest = max(uploads, key=lambda a: a.id or 0, default=None)
        renditions = renditions_of(session, playing) if playing else []
        result[exercise_id] = ExerciseAudioAdmin(playing, renditions, latest)
    return result
