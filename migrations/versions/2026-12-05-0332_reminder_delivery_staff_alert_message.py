"""reminder delivery: a staff alert's own message

Staff safety alerts go out through the reminders' deliveries; unlike a reminder, whose words
come from its kind, an alert names the group and links to its flag.

Revision ID: 5e8b0c4f2a61
Revises: a4d9e0b7c352
Create Date: 2026-12-05 03:32:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e8b0c4f2a61"
down_revision: str | None = "a4d9e0b7c352"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder_delivery", schema=None) as batch_op:
        batch_op.drop_column("message")
