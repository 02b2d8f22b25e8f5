"""The reminder scheduler: one pass plans what is due, claims it and sends it, each step in its
own short transaction. Several workers may run it at once: a database lease lets one of them
work at a time, and each delivery is claimed (pending -> sending) by exactly one, so a
reminder reaches a device at most once even if two schedulers overlap.
"""

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from py_vapid import Vapid
from sqlalchemy import Engine

from app import mail
from app.config import Settings
from app.db import open_session, utcnow
from app.outcomes import safety_alerts
from app.reminders import push
from app.reminders import service as reminders_service
from app.retention import service as retention_service

log = logging.getLogger("tend.reminders")


@dataclass
class PassSummary:
    """What one pass did (counts only: no one's identity goes to the log)."""

    leased: bool = False
    safety_alerts: int = 0
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    gone: int = 0
    failed: int = 0


def make_holder() -> str:
    """A name for this scheduler that no other process or thread shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_pass(
    engine: Engine,
    settings: Settings,
    *,
    holder: str,
    now: datetime | None = None,
    http: requests.Session | None = None,
) -> PassSummary:
    """One pass of the scheduler, if this holder gets (or keeps) the lease."""
    now = now or utcnow()
    summary = PassSummary()
    lease_ttl = timedelta(seconds=max(settings.reminders_interval_seconds * 3, 60))
    with open_session(engine, write=True) as session:
        summary.leased = reminders_service.take_lease(
            session, holder=holder, now=utcnow(), ttl=lease_ttl
        )
        session.commit()
    if not summary.leased:
        return summary
    summary.safety_alerts = _alert_safety_flags(engine, settings, now=now)
    with open_session(engine, write=True) as session:
        summary.planned = reminders_service.plan_deliveries(session, now=now)
        session.commit()
    with open_session(engine, write=True) as session:
        vapid_key = reminders_service.current_vapid(session, settings=settings)
        claimed = reminders_service.claim_due(session, now=now)
        # Committed before sending: once a delivery says "sending" nobody else will send it.
        session.commit()
    vapid = push.load_vapid(vapid_key.private_key_pem)
    # One HTTP session per pass at least, so messages to one push service share a connection.
    own_http = http is None
    http = http or requests.Session()
    try:
        _send_claimed(engine, settings, claimed, vapid=vapid, http=http, now=now, summary=summary)
    finally:
        if own_http:
            http.close()
    _retention_once_a_day(engine)
    return summary


def _alert_safety_flags(engine: Engine, settings: Settings, *, now: datetime) -> int:
    """Tell staff about new and overdue safety flags: pushes are queued for this pass to send;
    emails go out here, outside any transaction. An email that fails is tried next pass (its
    push is queued once only)."""
    with open_session(engine, write=True) as session:
        alerts = safety_alerts.pending_alerts(session, now=now)
        safety_alerts.queue_pushes(session, alerts, now=now)
        session.commit()
    done = 0
    for alert in alerts:
        subject, body = alert.email()
        try:
            mail.send_email(settings, to=alert.emails, subject=subject, body=body)
        except mail.MailError as error:
            log.warning("safety alert email not sent, trying next pass: %s", error)
            continue
        with open_session(engine, write=True) as session:
            emailed = mail.is_configured(settings) and bool(alert.emails)
            safety_alerts.mark_done(session, alert, now=now, emailed=emailed)
            session.commit()
        done += 1
    return done


def _retention_once_a_day(engine: Engine) -> None:
    # Under the reminders lease, so one worker of many runs it; its own lease makes it daily.
    if not retention_service.claim_daily_pass(engine):
        return
    plans, cleaned = retention_service.apply(engine, skip_unset=True)
    log.info(
        "retention: %d patients past their clinic's period, %d clinics without a setting; "
        "removed %d expired invites, %d ended sessions, %d rate-limit rows",
        sum(len(p.enrolment_ids) for p in plans if p.has_setting),
        sum(not p.has_setting for p in plans),
        cleaned.expired_invites,
        cleaned.ended_sessions,
        cleaned.rate_limit_rows,
    )


def _send_claimed(
    engine: Engine,
    settings: Settings,
    claimed: list[reminders_service.ClaimedDelivery],
    *,
    vapid: Vapid,
    http: requests.Session,
    now: datetime,
    summary: PassSummary,
) -> None:
    for delivery in claimed:
        result = push.send(
            endpoint=delivery.endpoint,
            p256dh=delivery.p256dh,
            auth=delivery.auth,
            message=delivery.message,
            vapid=vapid,
            contact=settings.push_contact,
            ttl_seconds=reminders_service.PUSH_TTL_SECONDS,
            session=http,
        )
        with open_session(engine, write=True) as session:
            reminders_service.record_result(session, claimed=delivery, result=result, now=now)
            session.commit()
        if result.outcome == push.Outcome.sent:
            summary.sent += 1
        elif result.outcome == push.Outcome.gone:
            summary.gone += 1
        elif result.outcome == push.Outcome.retry:
            summary.retrying += 1
        else:
            summary.failed += 1


def release(engine: Engine, *, holder: str) -> None:
    """Hand the lease back (on shutdown) so another scheduler takes over without waiting."""
    with open_session(engine, write=True) as session:
        reminders_service.release_lease(session, holder=holder, now=utcnow())
        session.commit()


def run_forever(engine: Engine, settings: Settings, *, stop: threading.Event) -> None:
    """Run passes every ``reminders_interval_seconds`` until ``stop`` is set."""
    holder = make_holder()
    http = requests.Session()
    try:
        while not stop.is_set():
            try:
                summary = run_pass(engine, settings, holder=holder, http=http)
                if summary.sent or summary.gone or summary.failed or summary.retrying:
                    log.info(
                        "reminders: sent %d, retrying %d, expired devices %d, failed %d",
                        summary.sent,
                        summary.retrying,
                        summary.gone,
                        summary.failed,
                    )
            except Exception:
                # A bad pass (database restarting, say) must not end the loop.
                log.exception("reminders: pass failed; trying again next time")
            stop.wait(settings.reminders_interval_seconds)
    finally:
        http.close()
        try:
            release(engine, holder=holder)
        except Exception:
            log.warning("reminders: could not release the lease; it expires by itself")


def start_in_background(
    engine: Engine, settings: Settings
) -> tuple[threading.Thread, threading.Event]:
    """The in-process scheduler of the embedded default: a daemon thread and its stop switch."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        args=(engine, settings),
        kwargs={"stop": stop},
        name="tend-reminders",
        daemon=True,
    )
    thread.start()
    return thread, stop
