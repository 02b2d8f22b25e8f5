"""clinic safety response time (working days, default 1)

Revision ID: 3f1c2a7d9b10
Revises: 3f8b2d6c9e11
Create Date: 2026-12-05 03:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1c2a7d9b10"
down_revision: str | None = "3f8b2d6c9e11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "safety_response_working_days",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("1"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("safety_response_working_days")
