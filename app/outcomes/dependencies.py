"""What every staff page needs from outcomes before its route runs."""

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from app.clinics.models import User
from app.db import open_session
from app.outcomes import safety as safety_flags


async def note_overdue_safety_flags(request: Request) -> None:
    """Count the safety flags past their response time that this staff member may see, for
    the banner on every staff page. Counted in a short session of its own before the route
    begins: counting while rendering held a second pooled connection per request, and a crowd
    of views ran the pool dry. Async, so a patient's page pays no thread hop for it."""
    user = getattr(request.state, "user", None)
    if user is None or not user.is_staff:
        return
    engine = request.app.state.engine
    request.state.overdue_safety_flags = await run_in_threadpool(_overdue, engine, user)


def _overdue(engine: Engine, user: User) -> int:
    with open_session(engine) as session:
        return len(safety_flags.overdue_safety_flags(session, viewer=user))
