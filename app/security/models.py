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
