"""Rendering jobs: the audio build (`tend audio build`) and the processing of uploads.

The state of every job is an AudioAsset row (pending, processing, ready, failed), so the
pages, the API and several workers all see the same thing. A worker claims a job with a
conditional UPDATE and a lease (services.claim_asset); the CPU work runs in worker
processes (Piper itself is a further subprocess), never in a request handler.
"""

import fcntl
import hashlib
import multiprocessing
import os
import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from app.audio import processing, speech
from app.audio import service as audio_service
from app.audio.processing import AudioRejected, Rendition
from app.config import Settings
from app.db import open_session, utcnow
from app.groups import service as groups_service
from app.programme import service as programme_service
from app.programme.models import Exercise

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_CHUNK = 1024 * 1024


def uploads_dir(settings: Settings) -> Path:
    """Where original uploads are kept (outside the served media directory)."""
    return settings.data_dir / "uploads"


# --- work done in worker processes -------------------------------------------------------


def _render_script_job(script: str, media_dir: str, stem: str) -> list[Rendition]:
    return processing.render_script(script, media_dir, stem)


def _render_upload_job(path: str, media_dir: str, stem: str) -> list[Rendition]:
    return processing.render_recording(path, media_dir, stem)


# --- the build ----------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What a build did, exercise by exercise (keys)."""

    rendered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)  # claimed by another worker


@dataclass(frozen=True)
class _Job:
    asset_id: int
    label: str
    seconds: float  # expected length, to weigh progress
    run: Callable[..., list[Rendition]]
    args: tuple[str, ...]


Progress = Callable[[str, float], None]  # (label of a finished job, its weight)


def plan_build(
    engine: Engine,
    settings: Settings,
    *,
    only: Sequence[str] = (),
    week: int | None = None,
) -> tuple[list[_Job], BuildReport]:
    """Decide what needs rendering and record it as pending jobs, in the order patients need
    it (see build_order)."""
    voice = speech.voice_id()
    report = BuildReport()
    jobs: list[_Job] = []
    with open_session(engine, write=True) as session:
        exercises = build_order(
            programme_service.exercises_in_week_order(session),
            current=groups_service.weeks_in_progress(session),
        )
        if only:
            unknown = set(only) - {e.key for e, _ in exercises}
            if unknown:
                raise LookupError(f"No exercise called {', '.join(sorted(unknown))}.")
        for exercise, weeks in exercises:
            if only and exercise.key not in only:
                continue
            if week is not None and week not in weeks:
                continue
            key = audio_service.BuildKey(exercise.script_sha256, processing.pipeline_version, voice)
            asset = audio_service.plan_synthetic(
                session, exercise_id=exercise.id or 0, key=key, media_dir=settings.media_dir
            )
            if asset is None:
                report.skipped.append(exercise.key)
                continue
            jobs.append(
                _Job(
                    asset_id=asset.id or 0,
                    label=exercise.key,
                    seconds=exercise.minutes * 60.0,
                    run=_render_script_job,
                    args=(exercise.script, str(settings.media_dir), f"{exercise.key}-{asset.id}"),
                )
            )
        # Uploads a crashed server left behind are picked up by the next build.
        for asset_id in audio_service.claimable_uploads(session, now=utcnow()):
            jobs.append(_upload_job(settings, asset_id, f"upload {asset_id}"))
        session.commit()
    return jobs, report


def build_order(
    exercises: Sequence[tuple[Exercise, list[int]]], *, current: Sequence[tuple[int, int]]
) -> list[tuple[Exercise, list[int]]]:
    """The week every running group is in first, then the week after it, then the rest in
    programme order: a group six weeks in should not wait for weeks 1 to 5 to be rendered."""
    now = set(current)
    following = {(programme_id, week + 1) for programme_id, week in current}

    def tier(row: tuple[Exercise, list[int]]) -> int:
        exercise, weeks = row
        offered = {(exercise.programme_id, week) for week in weeks}
        if offered & now:
            return 0
        return 1 if offered & following else 2

    return sorted(exercises, key=tier)  # stable: programme order within each tier


def _upload_job(settings: Settings, asset_id: int, label: str) -> _Job:
    path = uploads_dir(settings) / str(asset_id)
    stem = f"upload-{asset_id}"
    return _Job(
        asset_id, label, 600.0, _render_upload_job, (str(path), str(settings.media_dir), stem)
    )


def run_jobs(
    engine: Engine,
    jobs: Sequence[_Job],
    report: BuildReport,
    *,
    workers: int,
    progress: Progress | None = None,
) -> BuildReport:
    """Render jobs in worker processes, in order, claiming each just before it starts."""
    queue = list(jobs)
    running: dict[Future[list[Rendition]], _Job] = {}
    # "spawn": the parent may hold threads (the progress bar) and database connections.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        while queue or running:
            while queue and len(running) < workers:
                job = queue.pop(0)
                if not _claim(engine, job.asset_id):
                    report.busy.append(job.label)
                    if progress:
                        progress(job.label, job.seconds)
                    continue
                running[pool.submit(job.run, *job.args)] = job
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                _finish(engine, job, future, report)
                if progress:
                    progress(job.label, job.seconds)
    return report


def _claim(engine: Engine, asset_id: int) -> bool:
    with open_session(engine, write=True) as session:
        claimed = audio_service.claim_asset(session, asset_id=asset_id, now=utcnow())
        session.commit()
    return claimed


def _finish(
    engine: Engine, job: _Job, future: "Future[list[Rendition]]", report: BuildReport
) -> None:
    error = future.exception()
    with open_session(engine, write=True) as session:
        if error is None:
            audio_service.complete_asset(
                session, asset_id=job.asset_id, renditions=future.result(), now=utcnow()
            )
            report.rendered.append(job.label)
        else:
            message = _describe(error)
            audio_service.fail_asset(session, asset_id=job.asset_id, error=message)
            report.failed[job.label] = message
        session.commit()


def _describe(error: BaseException) -> str:
    if isinstance(error, AudioRejected | speech.SpeechError):
        return str(error)
    # Unexpected: keep the last frame for whoever reads the admin page or the build log.
    last = traceback.format_exception(error)[-1].strip()
    return f"Rendering failed unexpectedly ({last})."


# --- one upload, processed off the request path ------------------------------------------


def process_upload(engine: Engine, settings: Settings, asset_id: int) -> None:
    """Render a queued upload in a worker process (called from a background thread)."""
    job = _upload_job(settings, asset_id, f"upload {asset_id}")
    run_jobs(engine, [job], BuildReport(), workers=1)


def receive_upload(stream: BinaryIO, settings: Settings) -> tuple[Path, str, int]:
    """Copy an uploaded file to disk in chunks; (path, sha256, size). ValueError if too big."""
    directory = uploads_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".incoming-{uuid.uuid4().hex}"
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ValueError("too big")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def keep_upload(incoming: Path, settings: Settings, asset_id: int) -> Path:
    """Give an accepted upload its job's name."""
    target = uploads_dir(settings) / str(asset_id)
    os.replace(incoming, target)
    return target


# --- one build at a time, in the background ----------------------------------------------


@contextmanager
def build_lock(settings: Settings, *, on_busy: Callable[[], None] | None = None) -> Iterator[bool]:
    """Hold the build lock if it is free; yields False when another build holds it, or, given
    ``on_busy``, calls it and waits until that build ends and the lock is ours.

    An OS file lock: released by the kernel if the build dies, so it never goes stale.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data_dir / "audio-build.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_busy is None:
                yield False
                return
            on_busy()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_in_background(
    settings: Settings, *, only: Sequence[str] = (), week: int | None = None, workers: int = 0
) -> Path:
    """Start a detached `tend audio build` with these options (it exits at once if one is
    running); its log."""
    log = settings.data_dir / "audio-build.log"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    options = [f"--only={key}" for key in only] + [f"--workers={workers}"]
    options += [f"--week={week}"] if week is not None else []
    with log.open("ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "app", "audio", "build", "--plain", *options],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C on `make run` stops the server, not the build, which
            # carries on (and the next run skips what it finished).
            start_new_session=True,
            env=os.environ.copy(),
        )
    return log
