"""Rendered audio: an asset per exercise (the shipped synthetic voice, or a clinic's own
recording) and its web renditions."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_type, utcnow


class AudioSource(StrEnum):
    synthetic = "synthetic"  # rendered from the exercise's script
    upload = "upload"  # a recording a clinic uploaded


class AudioStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    ready = "ready"
    failed = "failed"
    superseded = "superseded"  # an older asset kept until its replacement was ready


class AudioAsset(SQLModel, table=True):
    __tablename__ = "audio_asset"

    id: int | None = Field(default=None, primary_key=True)
    exercise_id: int = Field(foreign_key="exercise.id", index=True, ondelete="CASCADE")
    # None: the default for every clinic. Set: that clinic's own recording, preferred there.
    clinic_id: int | None = Field(
        default=None, foreign_key="clinic.id", index=True, ondelete="CASCADE"
    )
    source: AudioSource = Field(sa_type=enum_type(AudioSource))
    status: AudioStatus = Field(default=AudioStatus.pending, sa_type=enum_type(AudioStatus))
    # What was rendered: the script's or the upload's SHA-256, and the pipeline's version.
    source_sha256: str = Field(max_length=64)
    pipeline_version: str = Field(max_length=32)
    # The speech engine, voice and settings (synthetic audio only): the third part of the
    # cache key, so a new voice or pace re-renders everything.
    voice_id: str = Field(default="", max_length=255)
    original_filename: str = Field(default="", max_length=255)
    error: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When a worker claimed it: a lease, so a crashed worker's job is picked up again later.
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ready_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AudioRendition(SQLModel, table=True):
    __tablename__ = "audio_rendition"

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="audio_asset.id", index=True, ondelete="CASCADE")
    filename: str = Field(unique=True, max_length=255)  # content-hashed, under the media dir
    mime_type: str = Field(max_length=64)
    codec: str = Field(max_length=32)
    bitrate_kbps: float
    duration_seconds: float
    size_bytes: int
    loudness_lufs: float
    true_peak_dbfs: float
    sha256: str = Field(max_length=64)
