"""Rate-limit counters, kept in the database so every worker sees the same counts."""

from sqlmodel import Field, SQLModel


class RateLimitBucket(SQLModel, table=True):
    """Hits on one key in one fixed window; two windows make a sliding estimate."""

    __tablename__ = "rate_limit_bucket"

    # SHA-256 of scope, kind and value: no login or address is stored in clear.
    key: str = Field(primary_key=True, max_length=64)
    window_number: int = Field(primary_key=True)  # seconds since the epoch // window length
    hits: int = 0
    expires_at: int = Field(index=True)  # seconds since the epoch; pruned after this


class RefusalCount(SQLModel, table=True):
    """Refusals of callers who are not signed in, counted per address and hour.

    Anyone on the internet can send 401s by the thousand; one audit row each would fill an
    append-only table with noise. Signed-in callers' refusals stay one audit event each.
    """

    __tablename__ = "refusal_count"

    hour_number: int = Field(primary_key=True)  # seconds since the epoch // 3600
    address: str = Field(primary_key=True, max_length=64)
    status: int = Field(primary_key=True)
    refusals: int = 0
