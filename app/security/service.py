"""Sliding-window rate limits over database counters (several workers share them).

A limit refuses while the estimate (this window's hits plus the previous window's, weighted
by how much of it still overlaps) is at the limit. By default refused attempts are not
counted; sign-in counts them (``count_refused``), because its limits are per account *and*
address: whoever keeps guessing keeps only themselves out.
"""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.errors import TooManyRequests

__all__ = ["Limit", "TooManyRequests", "count", "enforce", "reached"]
from app import clock
from app.security.models import RateLimitBucket, RefusalCount

_TABLE = RateLimitBucket.__table__  # type: ignore[attr-defined]
_REFUSALS = RefusalCount.__table__  # type: ignore[attr-defined]
# Anonymous refusal counters are kept this long (hours), then pruned on the way.
REFUSAL_COUNT_HOURS = 90 * 24


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` per ``seconds`` for one value (an account, an address) in one scope."""

    scope: str
    kind: str
    value: str
    hits: int
    seconds: int

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.scope}\x00{self.kind}\x00{self.value}".encode()).hexdigest()


def _hits(session: Session, limit: Limit, *, window: int) -> tuple[int, int]:
    """Hits in the previous and the current window."""
    rows = session.execute(
        select(col(RateLimitBucket.window_number), col(RateLimitBucket.hits)).where(
            col(RateLimitBucket.key) == limit.key,
            col(RateLimitBucket.window_number).in_([window - 1, window]),
        )
    ).all()
    hits = {row[0]: row[1] for row in rows}
    return hits.get(window - 1, 0), hits.get(window, 0)


def _wait(limit: Limit, *, previous: int, current: int, now: float) -> float | None:
    """Seconds until one more attempt fits, or None if it fits now."""
    start = (now // limit.seconds) * limit.seconds
    elapsed = (now - start) / limit.seconds
    room = limit.hits - 1 - current
    if previous * (1.0 - elapsed) <= room:
        return None
    if room < 0:
        # This window alone is full: wait for the next one, where it counts as "previous".
        return (start + limit.seconds - now) + _next_window_wait(limit, current)
    # Wait until the previous window's weight has decayed enough.
    return (1.0 - room / previous - elapsed) * limit.seconds


def _next_window_wait(limit: Limit, current: int) -> float:
    if current <= limit.hits - 1:
        return 0.0
    return (1.0 - (limit.hits - 1) / current) * limit.seconds


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def count_refusal(session: Session, *, address: str, status: int) -> None:
    """One more refusal of an anonymous caller from ``address`` this hour."""
    hour = int(clock.now().timestamp() // 3600)
    statement = _insert(session)(_REFUSALS).values(
        hour_number=hour, address=address[:64], status=status, refusals=1
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["hour_number", "address", "status"],
            set_={"refusals": _REFUSALS.c.refusals + 1},
        )
    )
    session.execute(
        delete(RefusalCount).where(col(RefusalCount.hour_number) < hour - REFUSAL_COUNT_HOURS)
    )


def _count(session: Session, limit: Limit, *, window: int) -> None:
    insert = _insert(session)
    statement = insert(_TABLE).values(
        key=limit.key, window_number=window, hits=1, expires_at=(window + 2) * limit.seconds
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key", "window_number"], set_={"hits": _TABLE.c.hits + 1}
        )
    )


def _refusal(session: Session, limits: Sequence[Limit], now: float) -> TooManyRequests | None:
    for limit in limits:
        previous, current = _hits(session, limit, window=int(now // limit.seconds))
        wait = _wait(limit, previous=previous, current=current, now=now)
        if wait is not None:
            return TooManyRequests(
                f"Too many attempts. Please wait and try again in {_in_words(math.ceil(wait))}.",
                retry_after=max(1, math.ceil(wait)),
            )
    return None


def _in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return "a minute" if minutes <= 1 else f"{minutes} minutes"


def reached(session: Session, limit: Limit, *, now: float | None = None) -> bool:
    """Whether one more attempt would pass ``limit`` (nothing is counted)."""
    now = clock.now().timestamp() if now is None else now
    return _refusal(session, [limit], now) is not None


def count(session: Session, *, limits: Sequence[Limit], now: float | None = None) -> None:
    """Count one attempt against every limit, refusing nothing."""
    now = clock.now().timestamp() if now is None else now
    for limit in limits:
        _count(session, limit, window=int(now // limit.seconds))
    # Old counters are useless after two windows; prune a few on the way.
    session.execute(delete(RateLimitBucket).where(col(RateLimitBucket.expires_at) < int(now)))


def enforce(
    session: Session,
    *,
    limits: Sequence[Limit],
    now: float | None = None,
    count_refused: bool = False,
) -> None:
    """Count one attempt against every limit, or raise TooManyRequests if any is reached
    (after counting it too, with ``count_refused``: the caller commits before answering)."""
    now = clock.now().timestamp() if now is None else now
    refusal = _refusal(session, limits, now)
    if refusal is None or count_refused:
        count(session, limits=limits, now=now)
    if refusal is not None:
        raise refusal
