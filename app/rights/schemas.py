"""Shapes of the data-rights API."""

from pydantic import BaseModel, Field


class WithdrawRequest(BaseModel):
    """Stop using Tend: keep what was recorded (``erase`` false) or erase it (true)."""

    erase: bool
    password: str = Field(max_length=1024)


class WithdrawResult(BaseModel):
    erased: bool
    # Rows deleted by kind (practice_logs, check_ins, ...); empty when kept.
    erased_counts: dict[str, int]
    kept: list[str]
