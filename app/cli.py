"""The `tend` command: serve, migrate, load content, seed the demo clinic, export."""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import select

from app import backup, clock, demo, migrate
from app.clinics import service as clinics_service
from app.clinics import staff as staff_service
from app.clinics.models import Role, User
from app.config import PROJECT_ROOT, get_settings
from app.datafiles import DataFileError
from app.db import create_db_engine, open_session
from app.errors import AppError
from app.exports import service as exports_service
from app.outcomes import summary as cohort_summary
from app.programme import service as programme_service
from app.programme.loader import read_programme
from app.retention import service as retention_service

cli = typer.Typer(
    help="Tend: compassion-focused practice for persistent pain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
programme_cli = typer.Typer(
    help="Programmes: load and check programme files.", no_args_is_help=True
)
cli.add_typer(programme_cli, name="programme")
outcomes_cli = typer.Typer(help="Outcomes: the outcome summary.", no_args_is_help=True)
cli.add_typer(outcomes_cli, name="outcomes")
instruments_cli = typer.Typer(help="Instruments: check a questionnaire file.", no_args_is_help=True)
cli.add_typer(instruments_cli, name="instruments")
clinic_cli = typer.Typer(help="Clinics: create one.", no_args_is_help=True)
cli.add_typer(clinic_cli, name="clinic")
staff_cli = typer.Typer(
    help="Staff accounts: invite, list, reset, deactivate.", no_args_is_help=True
)
cli.add_typer(staff_cli, name="staff")
console = Console()
# Who acts when --as is not given, outside production only (the demo clinic's clinician).
DEMO_ACTOR = "clinician@demo.example"


def _engine() -> Engine:
    settings = get_settings()
    return create_db_engine(
        settings.resolved_database_url, production=settings.environment == "production"
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve Tend over HTTP."""
    settings = get_settings()
    uvicorn.run(
        "app.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=True,
        # X-Forwarded-For/-Proto are believed only from these addresses (docs/deploy.md).
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level="info",
    )


@cli.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the newest schema."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    console.print("Database is up to date.")


@programme_cli.command("load")
def programme_load(
    path: Annotated[
        Path | None, typer.Argument(help="programme.yaml (default: the shipped one)")
    ] = None,
) -> None:
    """Validate a programme file and load it (unchanged files are skipped)."""
    settings = get_settings()
    path = path or programme_service.default_programme_path(settings.programmes_dir)
    try:
        with open_session(_engine(), write=True) as session:
            programme, changed = programme_service.load_programme_file(session, path)
            session.commit()
    except DataFileError as error:
        console.print(f"[red]Programme not loaded.[/red]\n{error}", highlight=False)
        raise typer.Exit(1) from error
    state = "loaded" if changed else "already up to date"
    console.print(f"Programme {programme.key} v{programme.version} {state}.")
    if programme.adherence_rule_edited_at is not None:
        console.print(
            f"Adherence rule: kept the one an admin set on "
            f"{programme.adherence_rule_edited_at:%Y-%m-%d} (the file's rule is not applied)."
        )


@programme_cli.command("check")
def programme_check(path: Annotated[Path, typer.Argument(help="programme.yaml")]) -> None:
    """Validate a programme file without loading it."""
    try:
        source = read_programme(path)
    except DataFileError as error:
        console.print(f"[red]Problems found:[/red]\n{error}", highlight=False)
        raise typer.Exit(1) from error
    definition = source.definition
    console.print(
        f"OK: {definition.key} v{definition.version}, {len(definition.weeks)} weeks, "
        f"{len(definition.exercises)} exercises."
    )


@cli.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data")] = 7,
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="Only rebuild when out of date")
    ] = False,
) -> None:
    """Create or refresh the demo clinic (refused in production)."""
    settings = get_settings()
    if settings.environment == "production":
        console.print(
            "[red]Refused: TEND_ENVIRONMENT is production.[/red] The demo clinic's accounts share "
            "a public password. Set up a real clinic with `tend clinic create` and "
            "`tend staff invite` (docs/deploy.md, 'First day')."
        )
        raise typer.Exit(2)
    with open_session(_engine(), write=True) as session:
        summary = demo.seed_demo(
            session,
            today=clock.today(demo.DEMO_TIMEZONE),
            seed=seed,
            password=settings.demo_password,
            if_stale=if_stale,
        )
        session.commit()
    if summary.created:
        console.print(
            f"Demo clinic ready: {summary.practice_logs} practice logs, "
            f"{summary.check_ins} check-ins."
        )
    else:
        console.print("Demo clinic is up to date.")


@cli.command("logins")
def logins() -> None:
    """Print the demo logins."""
    settings = get_settings()
    table = Table(title=f"Demo logins (password: {settings.demo_password})")
    table.add_column("login")
    table.add_column("role")
    for login, role in demo.demo_logins():
        table.add_row(login, role)
    console.print(table)
    console.print(f"Open http://{settings.host}:{settings.port}")


@cli.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export into")],
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Group code (repeatable)")
    ] = None,
    export_format: Annotated[
        exports_service.ExportFormat, typer.Option("--format", help="What to write")
    ] = exports_service.ExportFormat.bundle,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day to include (YYYY-MM-DD)")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day to include (YYYY-MM-DD)")
    ] = None,
    study_key: Annotated[
        str, typer.Option("--study-key", help="Pseudonymise participant codes with this key")
    ] = "",
    date_shift: Annotated[
        bool, typer.Option("--date-shift", help="Shift each participant's dates (needs a key)")
    ] = False,
    free_text: Annotated[
        bool, typer.Option("--free-text", help="Include reflections (free text)")
    ] = False,
    consented_only: Annotated[
        bool,
        typer.Option("--consented-only", help="Only people who agreed to evaluation use"),
    ] = False,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Login of the clinician exporting (asked for in production)"),
    ] = None,
) -> None:
    """Write an export, exactly as a clinician would download it."""
    try:
        first = date.fromisoformat(date_from) if date_from else None
        last = date.fromisoformat(date_to) if date_to else None
    except ValueError as error:
        console.print(f"[red]--from/--to: {error}[/red]")
        raise typer.Exit(2) from error
    request = exports_service.ExportRequest(
        format=export_format,
        group_codes=tuple(group or ()),
        date_from=first,
        date_to=last,
        study_key=study_key,
        date_shift=date_shift,
        free_text=free_text,
        consented_only=consented_only,
    )
    as_user = _acting_login(as_user)
    with open_session(_engine(), write=True) as session:
        actor = session.exec(select(User).where(User.login == as_user)).first()
        if actor is None or actor.role not in (Role.clinician, Role.admin):
            console.print(f"[red]{as_user} is not a clinician or admin account.[/red]")
            raise typer.Exit(2)
        try:
            result = exports_service.run_export(session, actor=actor, request=request, out_dir=out)
        except AppError as error:
            console.print(f"[red]{error.field or 'export'}: {error.message}[/red]")
            raise typer.Exit(2) from error
        session.commit()
    for name, summary in result.files.items():
        console.print(f"{name}: {summary.rows} rows, sha256 {summary.sha256[:12]}")
    console.print(f"Wrote {out} for groups {', '.join(result.group_codes)}.")


def _acting_login(as_user: str | None) -> str:
    """Who is acting: ``--as``; in production asked for (no demo account is assumed)."""
    if as_user:
        return as_user.strip().lower()
    if get_settings().environment == "production":
        return str(typer.prompt("Your login (who is acting)")).strip().lower()
    return DEMO_ACTOR


def _fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v, digits) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@outcomes_cli.command("summary")
def outcomes_summary(
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Group code (repeatable)")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="json or table")] = "table",
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Login of the staff member asking (asked for in production)"),
    ] = None,
    exclude_prorated: Annotated[
        bool,
        typer.Option("--exclude-prorated", help="Leave out totals prorated for missing items"),
    ] = False,
) -> None:
    """The outcome summary, as the clinician page shows it."""
    if output_format not in ("json", "table"):
        console.print(f"[red]Format {output_format!r} is not available; use json or table.[/red]")
        raise typer.Exit(2)
    as_user = _acting_login(as_user)
    with open_session(_engine(), write=True) as session:
        viewer = session.exec(select(User).where(User.login == as_user)).first()
        if viewer is None or not viewer.is_staff:
            console.print(f"[red]{as_user} is not a staff account.[/red]")
            raise typer.Exit(2)
        try:
            summary = cohort_summary.summarise_outcomes(
                session, viewer=viewer, group_codes=group or (), exclude_prorated=exclude_prorated
            )
        except AppError as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(2) from error
        session.commit()  # the audit event of this view
    if output_format == "json":
        typer.echo(json.dumps(summary.as_json(), indent=2))
        return
    table = Table(title=f"Outcomes: {', '.join(g.code for g in summary.groups) or 'no groups'}")
    for heading in (
        "measure",
        "n",
        "pre (SD)",
        "post (SD)",
        "change [95% CI]",
        "t",
        "p",
        "p_holm",
        "d_av [95% CI]",
        "g_av [95% CI]",
        "d_z",
        "RC +/0/-",
    ):
        table.add_column(heading)
    for measure in summary.as_json()["measures"]:
        rc = "/".join(
            _fmt(measure[k])
            for k in ("reliable_improvement", "no_reliable_change", "reliable_deterioration")
        )
        table.add_row(
            f"{measure['instrument']} {measure['from']}->{measure['to']}",
            f"{measure['n_pairs']} of {measure['n_started']}",
            f"{_fmt(measure['pre_mean'])} ({_fmt(measure['pre_sd'])})",
            f"{_fmt(measure['post_mean'])} ({_fmt(measure['post_sd'])})",
            f"{_fmt(measure['mean_change'])} {_fmt(measure['mean_change_ci'])}",
            "too few" if measure["too_few"] else _fmt(measure["t"]),
            _fmt(measure["p"], 3),
            _fmt(measure["p_holm"], 3),
            f"{_fmt(measure['d_av'])} {_fmt(measure['d_av_ci'])}",
            f"{_fmt(measure['g_av'])} {_fmt(measure['g_av_ci'])}",
            _fmt(measure["d_z"]),
            rc,
        )
    wide = Console(width=max(console.width, 200))  # the table has twelve columns
    wide.print(table)
    _print_talking_therapies(wide, summary.as_json()["talking_therapies"])
    wide.print(summary.multiple_testing)
    wide.print(summary.limits)
    if summary.erased_participants:
        wide.print(
            f"Erased at the patient's request (in no figure): {summary.erased_participants}."
        )


def _print_talking_therapies(wide: Console, joint: list[dict[str, Any]]) -> None:
    """The joint NHS Talking Therapies counts, one row per pair of timepoints."""
    if not joint:
        return
    columns = (
        "n_pairs",
        "n_cases_at_baseline",
        "recovered",
        "reliable_improvement",
        "reliable_recovery",
        "reliable_deterioration",
        "no_reliable_change",
        "only_one_measure",
    )
    table = Table(title="NHS Talking Therapies (PHQ-9 with GAD-7, jointly)")
    for heading in ("pair", *columns):
        table.add_column(heading)
    for row in joint:
        table.add_row(f"{row['from']}->{row['to']}", *(_fmt(row[name]) for name in columns))
    wide.print(table)
    wide.print(joint[0]["definition"])


@cli.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="File to write the backup to")],
) -> None:
    """Write a consistent backup while Tend keeps running (checked before it is kept)."""
    settings = get_settings()
    try:
        report = backup.backup(settings.resolved_database_url, out)
    except backup.BackupError as error:
        console.print(f"[red]No backup written.[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _print_report(report, verb="Backed up")


@cli.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `tend backup`")],
) -> None:
    """Check a backup, keep a copy of the current database, then replace it (stop the server
    first)."""
    settings = get_settings()
    try:
        report, kept = backup.restore(
            settings.resolved_database_url, file, known_revisions=migrate.known_revisions()
        )
    except backup.BackupError as error:
        console.print(f"[red]Nothing restored.[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _print_report(report, verb="Restored")
    if kept is not None:
        console.print(f"The previous database was kept at {kept}.")


def _print_report(report: "backup.Report", *, verb: str) -> None:
    total = sum(report.rows.values())
    console.print(f"{verb} {report.path}: schema {report.revision}, {total} rows.")
    console.print(f"Checked: {report.checked_by}.", soft_wrap=True)
    for table, rows in report.rows.items():
        console.print(f"  {table}: {rows}")


@cli.command("retention")
def retention_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Delete it (audited)")] = False,
) -> None:
    """What each clinic's retention setting would delete, or delete it (audited)."""
    if dry_run == apply:
        console.print("Say --dry-run to see what would be deleted, or --apply to delete it.")
        raise typer.Exit(2)
    engine = _engine()
    if dry_run:
        with open_session(engine) as session:
            plans = retention_service.plan(session)
            cleaned = retention_service.count_housekeeping(session)
    else:
        try:
            plans, cleaned = retention_service.apply(engine)
        except AppError as error:
            console.print(error.message, soft_wrap=True)
            raise typer.Exit(1) from error
    verb = "would go" if dry_run else "removed"
    for plan in plans:
        if not plan.has_setting:
            console.print(
                f"{plan.slug}: no {retention_service.SETTING} set; nothing {verb}.", soft_wrap=True
            )
            continue
        counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in plan.counts.items())
        how = "pseudonymised" if plan.action == "pseudonymise" else "deleted"
        console.print(
            f"{plan.slug}: keeps {plan.years} years after a group ends; groups that ended "
            f"before {plan.kept_from}: {counts} ({how}).",
            soft_wrap=True,
        )
    console.print(
        f"Short-lived rows {verb}: {cleaned.expired_invites} expired invites, "
        f"{cleaned.ended_sessions} ended sessions, {cleaned.rate_limit_rows} rate-limit rows.",
        soft_wrap=True,
    )


def main() -> None:
    """Entry point of the `tend` console script."""
    cli()


reminders_cli = typer.Typer(help="Reminders: the Web Push scheduler.", no_args_is_help=True)
cli.add_typer(reminders_cli, name="reminders")


@reminders_cli.command("run")
def reminders_run(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit")] = False,
) -> None:
    """Send due reminders; safe to run beside app workers (a database lease picks one sender)."""
    import signal
    import threading

    from app.reminders import scheduler as reminders_scheduler

    settings = get_settings()
    engine = _engine()
    if once:
        holder = reminders_scheduler.make_holder()
        summary = reminders_scheduler.run_pass(engine, settings, holder=holder)
        reminders_scheduler.release(engine, holder=holder)
        if not summary.leased:
            console.print("Another scheduler holds the lease; nothing sent by this one.")
            return
        console.print(
            f"Planned {summary.planned}, sent {summary.sent}, retrying {summary.retrying}, "
            f"expired devices removed {summary.gone}, failed {summary.failed}."
        )
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"Sending reminders every {settings.reminders_interval_seconds}s (Ctrl+C stops).")
    try:
        reminders_scheduler.run_forever(engine, settings, stop=stop)
    except KeyboardInterrupt:
        stop.set()


audio_cli = typer.Typer(help="Audio: render the programme's practices.", no_args_is_help=True)
cli.add_typer(audio_cli, name="audio")


@audio_cli.command("build")
def audio_build(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Exercise key (repeatable)")
    ] = None,
    week: Annotated[int | None, typer.Option("--week", help="Only this week's exercises")] = None,
    background: Annotated[
        bool, typer.Option("--background", help="Build in a detached process and return")
    ] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (default: one per core)")] = 0,
    plain: Annotated[
        bool, typer.Option("--plain", help="Log lines, no progress bar (also when not a terminal)")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="If another build is running, wait for it, then build")
    ] = False,
) -> None:
    """Render missing or changed audio (script, pipeline or voice changed): the week each
    running group is in first, then the week after, then the rest in programme order."""
    from app.audio import build_cli

    raise typer.Exit(
        build_cli.build(
            console,
            only=only or [],
            week=week,
            background=background,
            workers=workers,
            plain=plain,
            wait=wait,
        )
    )


# --- Setting up a clinic without the demo (docs/deploy.md, "First day") ---


def _fail(error: AppError) -> typer.Exit:
    console.print(f"[red]{error.message}[/red]", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@clinic_cli.command("create")
def clinic_create(
    name: Annotated[str, typer.Option("--name", help="The clinic's name, as staff see it")],
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone of the clinic's calendar")
    ] = "Europe/London",
    language: Annotated[
        str, typer.Option("--language", help="Its people's interface language until they choose")
    ] = "en",
) -> None:
    """Create a clinic and print its code (used by `tend staff invite --clinic`)."""
    with open_session(_engine(), write=True) as session:
        try:
            clinic = clinics_service.create_clinic(
                session, name=name, timezone=timezone, language=language
            )
        except AppError as error:
            raise _fail(error) from error
        session.commit()
    typer.echo(clinic.slug)


@staff_cli.command("invite")
def staff_invite(
    email: Annotated[str, typer.Argument(help="Their email: it is their login")],
    role: Annotated[Role, typer.Option("--role", help="admin, clinician or facilitator")],
    clinic: Annotated[str, typer.Option("--clinic", help="The clinic's code")],
    name: Annotated[str, typer.Option("--name", help="Their name, as colleagues see it")] = "",
) -> None:
    """Create a staff account and print its one-time link (emailed when SMTP is set)."""
    settings = get_settings()
    with open_session(_engine(), write=True) as session:
        found = clinics_service.get_clinic_by_slug(session, clinic.strip().lower())
        if found is None:
            console.print(
                f"[red]No clinic with the code {clinic!r}.[/red] See `tend clinic create`."
            )
            raise typer.Exit(2)
        try:
            link = staff_service.invite_staff(
                session,
                clinic=found,
                email=email,
                role=role,
                display_name=name,
                actor=None,
                settings=settings,
                site_url=settings.site_url,
            )
        except AppError as error:
            raise _fail(error) from error
        session.commit()
    _print_link(link, settings.staff_invite_valid_hours)


@staff_cli.command("reset")
def staff_reset(email: Annotated[str, typer.Argument(help="Their email")]) -> None:
    """A new one-time link for a forgotten passphrase (their older links stop working)."""
    settings = get_settings()
    with open_session(_engine(), write=True) as session:
        try:
            user = staff_service.find_staff(session, email=email)
            link = staff_service.reset_staff(
                session, user=user, actor=None, settings=settings, site_url=settings.site_url
            )
        except AppError as error:
            raise _fail(error) from error
        session.commit()
    _print_link(link, settings.staff_invite_valid_hours)


@staff_cli.command("deactivate")
def staff_deactivate(email: Annotated[str, typer.Argument(help="Their email")]) -> None:
    """Stop a staff account: it cannot sign in and its sessions end at once."""
    with open_session(_engine(), write=True) as session:
        try:
            user = staff_service.find_staff(session, email=email)
            staff_service.deactivate_staff(session, user=user, actor=None)
        except AppError as error:
            raise _fail(error) from error
        session.commit()
    console.print(f"Deactivated {user.login}: signed out everywhere, links revoked.")


@staff_cli.command("list")
def staff_list(
    clinic: Annotated[str | None, typer.Option("--clinic", help="Only this clinic's")] = None,
) -> None:
    """Staff accounts with their role, clinic and state."""
    with open_session(_engine()) as session:
        clinic_id = None
        if clinic:
            found = clinics_service.get_clinic_by_slug(session, clinic.strip().lower())
            if found is None:
                console.print(f"[red]No clinic with the code {clinic!r}.[/red]")
                raise typer.Exit(2)
            clinic_id = found.id
        members = staff_service.list_staff(session, clinic_id=clinic_id)
    table = Table(title="Staff")
    for heading in ("email", "name", "role", "clinic", "state"):
        table.add_column(heading)
    for member in members:
        user = member.user
        table.add_row(
            user.login, user.display_name, user.role.value, member.clinic.slug, member.state.value
        )
    Console(width=max(console.width, 120)).print(table)


def _print_link(link: staff_service.IssuedLink, hours: int) -> None:
    console.print(
        f"One-time link for {link.user.login} ({link.user.role.value}), valid {hours} hours:"
    )
    typer.echo(link.url)
    if link.emailed:
        console.print(f"Also emailed to {link.user.login}.")
    elif link.email_error:
        console.print(f"[red]Not emailed[/red] ({link.email_error}): pass the link on yourself.")


@cli.command("doctor")
def doctor_command(
    url: Annotated[
        str | None,
        typer.Option("--url", help="The public https:// address, to check the proxy's headers"),
    ] = None,
) -> None:
    """Check this deployment: one line per problem with what to do; exit 1 if any."""
    from app import doctor

    findings = doctor.run_checks(get_settings(), _engine(), url=url)
    failed = [finding for finding in findings if not finding.passed]
    for finding in failed:
        typer.echo(f"FAIL {finding.check}: {finding.problem}")
    typer.echo(f"{len(findings) - len(failed)} of {len(findings)} checks passed.")
    if failed:
        raise typer.Exit(1)


@cli.command("messages")
def messages_command() -> None:
    """Extract the interface's words afresh and bring every language's catalogue up to them."""
    from app.i18n.catalogue import update_catalogues

    for path in update_catalogues():
        typer.echo(f"Wrote {path.relative_to(PROJECT_ROOT)}")


@instruments_cli.command("check")
def instruments_check(
    path: Annotated[Path, typer.Argument(help="<id>.yaml, or a translation <id>.<language>.yaml")],
) -> None:
    """Validate a questionnaire file, or a validated translation of one against the installed
    original (docs/instruments.md), without installing it."""
    from app.outcomes.definitions import InstrumentFileError, is_translation_file, load_instrument
    from app.outcomes.instruments import instruments
    from app.outcomes.translations import load_translation

    try:
        if is_translation_file(path):
            translation = load_translation(path, instruments())
            summary = (
                f"{translation.instrument} v{translation.version} in {translation.language}, "
                f"{len(translation.items)} items"
            )
        else:
            instrument = load_instrument(path)
            summary = f"{instrument.id} v{instrument.version}, {len(instrument.items)} items"
    except (InstrumentFileError, OSError) as error:
        console.print(f"[red]Problems found:[/red]\n{error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error
    console.print(f"OK: {summary}.", highlight=False)
