"""When reminders fall due, across time zones and daylight-saving changes (pure functions)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.reminders import schedule

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")


def _daily(at: time, zone: ZoneInfo, start: datetime, days: int, mask: int = schedule.ALL_DAYS):
    return schedule.daily_occurrences(
        kind="practice",
        at=at,
        days_mask=mask,
        zone=zone,
        start=start,
        end=start + timedelta(days=days),
    )


def test_a_daily_0800_reminder_stays_at_0800_local_across_the_march_change_in_london() -> None:
    # Clocks go forward at 01:00 UTC on Sunday 28 March 2027.
    found = _daily(time(8, 0), LONDON, datetime(2027, 3, 26, tzinfo=UTC), days=4)
    assert [o.due_at.astimezone(LONDON).strftime("%a %d %H:%M") for o in found] == [
        "Fri 26 08:00",
        "Sat 27 08:00",
        "Sun 28 08:00",
        "Mon 29 08:00",
    ]
    assert [o.due_at.hour for o in found] == [8, 8, 7, 7]  # in UTC: GMT, then BST
    assert [o.key for o in found][:2] == ["practice:2027-03-26", "practice:2027-03-27"]


def test_a_daily_0800_reminder_stays_at_0800_local_across_the_october_change_in_london() -> None:
    # Clocks go back at 01:00 UTC on Sunday 31 October 2027.
    found = _daily(time(8, 0), LONDON, datetime(2027, 10, 29, tzinfo=UTC), days=4)
    assert [o.due_at.astimezone(LONDON).hour for o in found] == [8, 8, 8, 8]
    assert [o.due_at.hour for o in found] == [7, 7, 8, 8]
    # Exactly one reminder per local day, even on the 25-hour day.
    assert len({o.key for o in found}) == len(found) == 4


def test_a_time_skipped_by_the_spring_change_is_sent_once_just_after_the_jump() -> None:
    found = _daily(time(1, 30), LONDON, datetime(2027, 3, 27, 12, tzinfo=UTC), days=2)
    on_the_day = [o for o in found if o.key == "practice:2027-03-28"]
    assert len(on_the_day) == 1
    assert on_the_day[0].due_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 02:30 BST
    assert on_the_day[0].due_at.astimezone(LONDON).strftime("%H:%M") == "02:30"


def test_a_time_that_happens_twice_in_autumn_is_sent_once_at_its_first_occurrence() -> None:
    found = _daily(time(1, 30), LONDON, datetime(2027, 10, 30, 12, tzinfo=UTC), days=2)
    on_the_day = [o for o in found if o.key == "practice:2027-10-31"]
    assert len(on_the_day) == 1
    assert on_the_day[0].due_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 01:30 BST


def test_a_repeated_autumn_time_chosen_between_its_two_occurrences_comes_at_the_second() -> None:
    """Choosing 01:35 at 01:30 GMT, after the clocks went back: the 01:35 five minutes away, not
    tomorrow's (its first occurrence, 01:35 BST, had passed when it was chosen)."""
    chosen_at = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # 01:30 GMT, the second 01:30
    found = schedule.daily_occurrences(
        kind="practice",
        at=time(1, 35),
        days_mask=schedule.ALL_DAYS,
        zone=LONDON,
        start=chosen_at,
        end=chosen_at + timedelta(minutes=10),
    )
    assert [(o.key, o.due_at) for o in found] == [
        ("practice:2027-10-31", datetime(2027, 10, 31, 1, 35, tzinfo=UTC))
    ]
    upcoming = schedule.next_daily(
        at=time(1, 35), days_mask=schedule.ALL_DAYS, zone=LONDON, after=chosen_at
    )
    assert upcoming == datetime(2027, 10, 31, 1, 35, tzinfo=UTC)


def test_each_patient_is_reminded_in_their_own_zone() -> None:
    start = datetime(2027, 7, 1, tzinfo=UTC)
    assert _daily(time(8, 0), NEW_YORK, start, 1)[0].due_at == datetime(2027, 7, 1, 12, tzinfo=UTC)
    assert _daily(time(8, 0), KOLKATA, start, 1)[0].due_at == datetime(
        2027, 7, 1, 2, 30, tzinfo=UTC
    )
    # Sydney's clocks go forward on 3 October 2027 (southern hemisphere).
    found = _daily(time(8, 0), SYDNEY, datetime(2027, 10, 1, tzinfo=UTC), days=3)
    assert [o.due_at.astimezone(SYDNEY).hour for o in found] == [8, 8, 8]
    # In UTC the evening before: +10 for Saturday 2 October, +11 from Sunday 3 October.
    assert [o.key for o in found] == [
        "practice:2027-10-02",
        "practice:2027-10-03",
        "practice:2027-10-04",
    ]
    assert [o.due_at.hour for o in found] == [22, 21, 21]


def test_new_york_march_change_comes_two_weeks_before_londons() -> None:
    found = _daily(time(8, 0), NEW_YORK, datetime(2027, 3, 13, 12, tzinfo=UTC), days=2)
    assert [o.due_at.hour for o in found] == [13, 12]  # EST, then EDT on Sunday 14 March


def test_only_chosen_days_are_reminded() -> None:
    weekdays = schedule.days_mask_from([0, 2, 4])  # Monday, Wednesday, Friday
    found = _daily(time(19, 0), LONDON, datetime(2027, 1, 4, tzinfo=UTC), 7, weekdays)
    assert [o.due_at.date().strftime("%a") for o in found] == ["Mon", "Wed", "Fri"]
    assert schedule.weekdays_from(weekdays) == [0, 2, 4]


def test_next_daily_skips_to_the_next_chosen_day_and_handles_no_days() -> None:
    weekdays = schedule.days_mask_from([0])  # Mondays
    after = datetime(2027, 3, 23, 9, tzinfo=UTC)  # a Tuesday
    nxt = schedule.next_daily(at=time(8, 0), days_mask=weekdays, zone=LONDON, after=after)
    assert nxt == datetime(2027, 3, 29, 7, tzinfo=UTC)  # Monday 08:00 BST
    assert schedule.next_daily(at=time(8, 0), days_mask=0, zone=LONDON, after=after) is None
    # Today's reminder still to come is the next one; once it has passed, tomorrow's.
    morning = datetime(2027, 1, 5, 7, 59, tzinfo=UTC)
    every_day = schedule.ALL_DAYS
    assert schedule.next_daily(at=time(8, 0), days_mask=every_day, zone=LONDON, after=morning) == (
        datetime(2027, 1, 5, 8, tzinfo=UTC)
    )
    assert schedule.next_daily(
        at=time(8, 0), days_mask=every_day, zone=LONDON, after=morning + timedelta(minutes=1)
    ) == datetime(2027, 1, 6, 8, tzinfo=UTC)


def test_a_group_day_reminder_comes_at_the_chosen_time_or_two_hours_before() -> None:
    meeting = datetime(2027, 6, 2, 13, 0, tzinfo=UTC)  # 14:00 BST
    chosen_at = meeting - timedelta(days=3)
    early = schedule.session_reminder_at(
        starts_at=meeting, at=time(8, 0), zone=LONDON, not_before=chosen_at
    )
    assert early == datetime(2027, 6, 2, 7, 0, tzinfo=UTC)
    late = schedule.session_reminder_at(
        starts_at=meeting, at=time(18, 0), zone=LONDON, not_before=chosen_at
    )
    assert late == meeting - timedelta(hours=2)


def test_a_group_day_reminder_chosen_too_late_that_day_falls_back_to_two_hours_before() -> None:
    """Choosing 00:30 at 20:00 the evening before a 23:30 meeting still reminds: the
    chosen-time reminder of that day had passed when it was chosen, two hours before has not."""
    meeting = datetime(2027, 1, 5, 23, 30, tzinfo=UTC)
    chosen_at = datetime(2027, 1, 5, 20, 0, tzinfo=UTC)
    due = schedule.session_reminder_at(
        starts_at=meeting, at=time(0, 30), zone=LONDON, not_before=chosen_at
    )
    assert due == meeting - timedelta(hours=2)
    # Once both have passed there is nothing left to send.
    assert (
        schedule.session_reminder_at(
            starts_at=meeting, at=time(0, 30), zone=LONDON, not_before=meeting
        )
        is None
    )


def test_local_instant_is_wall_clock_time_on_that_day() -> None:
    assert schedule.local_instant(date(2027, 12, 25), time(9, 15), LONDON) == datetime(
        2027, 12, 25, 9, 15, tzinfo=UTC
    )
