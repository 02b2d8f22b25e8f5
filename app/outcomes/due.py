"""Timepoints and due windows: when each questionnaire may be filled in, what a patient has
open today, what is overdue, and which submission counts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes.definitions import Instrument
from app.outcomes.instruments import get_instrument, has_item_text, ordered_instruments
from app.outcomes.models import Administration, AdministrationStatus
from app.programme import service as programme_service

STANDARD_TIMEPOINTS = ("baseline", "end", "follow_up")
WEEKLY = re.compile(r"^week_([1-9][0-9]?)$")
DAYS_PER_WEEK = 7
BASELINE_OPENS_BEFORE = timedelta(days=14)
END_CLOSES_AFTER = timedelta(weeks=3)
FOLLOW_UP_AFTER = timedelta(days=91)
FOLLOW_UP_HALF_WIDTH = timedelta(weeks=3)
DEFAULT_WEEKS = 8


@dataclass(frozen=True)
class Window:
    """When a timepoint's questionnaires may be filled in (both days included)."""

    timepoint: str
    opens_on: date
    closes_on: date
    optional: bool = False

    def contains(self, day: date) -> bool:
        """Whether ``day`` is inside the window."""
        return self.opens_on <= day <= self.closes_on


def programme_weeks(session: Session, group: Group) -> int:
    programme = programme_service.get_programme(session, group.programme_id)
    weeks = programme_service.adherence_rule(
        session, programme, clinic_id=group.clinic_id
    ).total_weeks
    return weeks or DEFAULT_WEEKS


def programme_end(group: Group, weeks: int) -> date:
    """The last day of the programme's last week."""
    return group.start_date + timedelta(days=DAYS_PER_WEEK * weeks - 1)


def timepoint_windows(group: Group, *, weeks: int = DEFAULT_WEEKS) -> list[Window]:
    """Baseline, weekly brief ratings, end and follow-up windows for a group's dates."""
    start, end = group.start_date, programme_end(group, weeks)
    windows = [
        Window("baseline", start - BASELINE_OPENS_BEFORE, start + timedelta(days=6)),
    ]
    for number in range(1, weeks + 1):
        first = groups_service.week_start(group, number)
        windows.append(Window(f"week_{number}", first, first + timedelta(days=6), optional=True))
    windows.append(Window("end", groups_service.week_start(group, weeks), end + END_CLOSES_AFTER))
    follow_up = end + FOLLOW_UP_AFTER
    windows.append(
        Window("follow_up", follow_up - FOLLOW_UP_HALF_WIDTH, follow_up + FOLLOW_UP_HALF_WIDTH)
    )
    return windows


def _instrument_timepoint(instrument: Instrument, timepoint: str) -> bool:
    if WEEKLY.match(timepoint):
        return "weekly" in instrument.timepoints
    return timepoint in instrument.timepoints


def check_timepoint(instrument: Instrument, timepoint: str, *, weeks: int) -> None:
    """Refuse a timepoint that does not exist or that this instrument is not given at."""
    weekly = WEEKLY.match(timepoint)
    valid = timepoint in STANDARD_TIMEPOINTS or (weekly and 1 <= int(weekly[1]) <= weeks)
    if not valid or not _instrument_timepoint(instrument, timepoint):
        raise InvalidInput(
            f"{instrument.short_name} is not given at {timepoint!r}.", field="timepoint"
        )


@dataclass(frozen=True)
class DueItem:
    """One questionnaire the patient may fill in now."""

    instrument: Instrument
    window: Window
    draft: Administration | None


def _latest(
    session: Session, *, enrolment_id: int, instrument_id: str, timepoint: str, status: str
) -> Administration | None:
    return session.exec(
        select(Administration)
        .where(
            Administration.enrolment_id == enrolment_id,
            Administration.instrument_id == instrument_id,
            Administration.timepoint == timepoint,
            Administration.status == status,
        )
        .order_by(col(Administration.id).desc())
    ).first()


def current_submission(
    session: Session, *, enrolment_id: int, instrument_id: str, timepoint: str
) -> Administration | None:
    """The submitted administration that counts (the newest correction, if any)."""
    return _latest(
        session,
        enrolment_id=enrolment_id,
        instrument_id=instrument_id,
        timepoint=timepoint,
        status=AdministrationStatus.submitted,
    )


OVERDUE_AFTER_DAYS = 7


def _open_questionnaires(
    session: Session, *, group: Group, enrolment_ids: Sequence[int], today: date
) -> dict[int, list[DueItem]]:
    """For each enrolment of the group, what is open today and not yet submitted; one query
    for all of them, so a board of fifteen patients does not ask the database 240 times."""
    weeks = programme_weeks(session, group)
    windows = [w for w in timepoint_windows(group, weeks=weeks) if w.contains(today)]
    due: dict[int, list[DueItem]] = {enrolment_id: [] for enrolment_id in enrolment_ids}
    if not windows or not enrolment_ids:
        return due
    rows = session.exec(
        select(Administration)
        .where(
            col(Administration.enrolment_id).in_(enrolment_ids),
            col(Administration.timepoint).in_([w.timepoint for w in windows]),
        )
        .order_by(col(Administration.id))
    ).all()
    submitted = {
        (a.enrolment_id, a.instrument_id, a.timepoint)
        for a in rows
        if a.status == AdministrationStatus.submitted
    }
    drafts = {  # ordered by id, so the newest draft of each questionnaire wins
        (a.enrolment_id, a.instrument_id, a.timepoint): a
        for a in rows
        if a.status == AdministrationStatus.draft
    }
    offered = [
        (window, instrument)
        for window in windows
        for instrument in ordered_instruments()
        # Instruments without item text are entered by staff from the clinic's own form.
        if has_item_text(instrument) and _instrument_timepoint(instrument, window.timepoint)
    ]
    for enrolment_id in enrolment_ids:
        for window, instrument in offered:
            key = (enrolment_id, instrument.id, window.timepoint)
            if key not in submitted:
                due[enrolment_id].append(DueItem(instrument, window, drafts.get(key)))
    return due


def due_questionnaires(
    session: Session, *, enrolment: Enrolment, group: Group, today: date
) -> list[DueItem]:
    """What the patient may fill in today, not yet submitted; weekly ratings are optional."""
    enrolment_id = enrolment.id or 0
    return _open_questionnaires(session, group=group, enrolment_ids=[enrolment_id], today=today)[
        enrolment_id
    ]


def overdue_questionnaires(
    session: Session, *, group: Group, enrolment_ids: Sequence[int], today: date
) -> dict[int, list[DueItem]]:
    """Per enrolment: required questionnaires open for a week or more and still not sent."""
    return {
        enrolment_id: [
            item
            for item in items
            if not item.window.optional
            and (today - item.window.opens_on).days >= OVERDUE_AFTER_DAYS
        ]
        for enrolment_id, items in _open_questionnaires(
            session, group=group, enrolment_ids=enrolment_ids, today=today
        ).items()
    }


def due_item(
    session: Session,
    *,
    enrolment: Enrolment,
    group: Group,
    instrument_id: str,
    timepoint: str,
    today: date,
) -> DueItem:
    """The due questionnaire, or an error that says why not (already sent, not due, unknown)."""
    instrument = get_instrument(instrument_id)
    weeks = programme_weeks(session, group)
    check_timepoint(instrument, timepoint, weeks=weeks)
    if (
        current_submission(
            session,
            enrolment_id=enrolment.id or 0,
            instrument_id=instrument.id,
            timepoint=timepoint,
        )
        is not None
    ):
        raise Conflict(
            f"You have already sent the {instrument.short_name} for this time. Thank you."
        )
    for item in due_questionnaires(session, enrolment=enrolment, group=group, today=today):
        if item.instrument.id == instrument.id and item.window.timepoint == timepoint:
            return item
    window = next(w for w in timepoint_windows(group, weeks=weeks) if w.timepoint == timepoint)
    raise InvalidInput(
        f"The {instrument.short_name} is not due now: it can be filled in from "
        f"{window.opens_on:%d %b %Y} to {window.closes_on:%d %b %Y}.",
        field="timepoint",
    )


def timepoint_rank(timepoint: str) -> tuple[int, int]:
    """Sort key: baseline, week_1..week_N, end, follow_up."""
    weekly = WEEKLY.match(timepoint)
    if weekly:
        return (1, int(weekly[1]))
    return ({"baseline": 0, "end": 2, "follow_up": 3}.get(timepoint, 4), 0)
