"""refusal count

Refusals of callers who are not signed in are counted per address and hour instead of one
append-only audit row each.

Revision ID: 5d1f0c7a9e21
Revises: 5b0c3e7a9d21
Create Date: 2026-12-05 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5d1f0c7a9e21"
down_revision: str | None = "5b0c3e7a9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refusal_count",
        sa.Column("hour_number", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour_number", "address", "status", name=op.f("pk_refusal_count")),
    )


def downgrade() -> None:
    op.drop_table("refusal_count")
