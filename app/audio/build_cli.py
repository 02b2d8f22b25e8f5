"""`tend audio build`: what it prints, and its progress bar."""

import os
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from app.audio import speech, worker
from app.config import get_settings
from app.db import create_db_engine


def build(
    console: Console,
    *,
    only: Sequence[str],
    week: int | None,
    background: bool,
    workers: int,
    plain: bool,
    wait: bool,
) -> int:
    """Run a build; the exit code (0 done, 1 some failed, 2 bad arguments)."""
    settings = get_settings()
    if background:
        log = worker.build_in_background(settings, only=only, week=week, workers=workers)
        console.print(
            f"Building audio in the background, the weeks groups are in first (log: {log})."
        )
        return 0
    engine = create_db_engine(settings.resolved_database_url)

    def say_waiting() -> None:
        console.print("Another audio build is running; waiting for it to finish.")

    with worker.build_lock(settings, on_busy=say_waiting if wait else None) as locked:
        if not locked:
            console.print("Another audio build is running; it will render what is missing.")
            return 0
        try:
            jobs, report = worker.plan_build(engine, settings, only=only, week=week)
        except (LookupError, speech.SpeechUnavailable) as error:
            console.print(f"[red]{error}[/red]")
            return 2
        workers = workers or max(1, os.cpu_count() or 1)
        console.print(
            f"{len(jobs)} to render, {len(report.skipped)} already up to date "
            f"({workers} worker processes)."
        )
        started = time.monotonic()
        # A bar only where someone watches it: a log file or a pipe gets one line per job.
        if plain or not console.is_terminal:

            def log_line(label: str, _weight: float) -> None:
                state = "failed" if label in report.failed else "done"
                console.print(f"{time.monotonic() - started:7.1f}s  {label}: {state}")

            worker.run_jobs(engine, jobs, report, workers=workers, progress=log_line)
        else:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as bar:
                # Weighted by each practice's length: a 20-minute scan is most of a week's work.
                task = bar.add_task("Rendering", total=sum(j.seconds for j in jobs) or 1)

                def advance(label: str, weight: float) -> None:
                    bar.update(task, advance=weight, description=f"Rendered {label}")

                worker.run_jobs(engine, jobs, report, workers=workers, progress=advance)
    elapsed = time.monotonic() - started
    console.print(
        f"Rendered {len(report.rendered)}, skipped {len(report.skipped)}, "
        f"failed {len(report.failed)} in {elapsed:.1f} s."
    )
    for label, message in report.failed.items():
        console.print(f"[red]{label}[/red]: {message}", highlight=False)
    return 1 if report.failed else 0
