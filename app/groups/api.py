"""Staff JSON API: a group's engagement board and its register."""

from fastapi import APIRouter

from app.auth.dependencies import StaffUser
from app.db import SessionDep
from app.errors import InvalidInput
from app.groups import engagement
from app.groups import service as groups_service
from app.groups.dependencies import VisibleGroup
from app.groups.schemas import (
    BoardRead,
    BoardRowRead,
    FlagRead,
    RegisterRead,
    RegisterWrite,
    WeekRead,
)

router = APIRouter(tags=["groups"])


@router.get("/groups/{code}/board", response_model=BoardRead)
def get_board(group: VisibleGroup, user: StaffUser, session: SessionDep) -> BoardRead:
    """The engagement board as data: the same numbers and flags as the page."""
    board = engagement.build_board(
        session, group=group, today=engagement.group_today(session, group)
    )
    engagement.record_board_view(session, actor=user, group=group)
    codes = {row.enrolment.id: row.enrolment.participant_code for row in board.rows}
    consent = engagement.consent_states(session, group=group, board=board)
    return BoardRead(
        group=group.code,
        week=board.week,
        days=board.days,
        adherence_rule=board.rule.describe(),
        rows=[
            BoardRowRead(
                participant_code=row.enrolment.participant_code,
                status=row.enrolment.status.value,
                days=[state.value for state in row.days],
                weeks=[
                    WeekRead(number=c.number, practice_days=c.practice_days, met=c.met)
                    for c in row.weeks
                ],
                weeks_met=row.weeks_met,
                minutes_this_week=row.minutes_this_week,
                last_activity=row.last_activity,
                consent=consent[row.enrolment.id or 0],
            )
            for row in board.rows
        ],
        flags=[
            FlagRead(
                kind=f.kind,
                severity=f.severity.name,
                text=f.text,
                participant_code=codes.get(f.enrolment_id, ""),
                link=f.link,
            )
            for f in board.flags
        ],
    )


def _register_read(session: SessionDep, group: VisibleGroup, number: int) -> RegisterRead:
    meeting = groups_service.get_group_session(session, group=group, number=number)
    codes = {e.id: e.participant_code for e in groups_service.enrolments(session, group=group)}
    marked = groups_service.register(session, meeting=meeting)
    return RegisterRead(
        session=number, attendance={codes[eid]: status for eid, status in marked.items()}
    )


@router.get("/groups/{code}/sessions/{number}/attendance", response_model=RegisterRead)
def get_register(group: VisibleGroup, number: int, session: SessionDep) -> RegisterRead:
    """Who came to a session."""
    return _register_read(session, group, number)


@router.put("/groups/{code}/sessions/{number}/attendance", response_model=RegisterRead)
def put_register(
    group: VisibleGroup, number: int, body: RegisterWrite, user: StaffUser, session: SessionDep
) -> RegisterRead:
    """Record or update attendance for the participants named; others are left as they are."""
    meeting = groups_service.get_group_session(session, group=group, number=number)
    ids = {e.participant_code: e.id for e in groups_service.enrolments(session, group=group)}
    statuses = {}
    for code, status in body.attendance.items():
        enrolment_id = ids.get(code.upper())
        if enrolment_id is None:
            raise InvalidInput(
                f"No participant {code!r} in this group.", field=f"attendance.{code}"
            )
        statuses[enrolment_id] = status.value
    groups_service.save_register(
        session, actor=user, group=group, meeting=meeting, statuses=statuses
    )
    session.flush()
    return _register_read(session, group, number)
