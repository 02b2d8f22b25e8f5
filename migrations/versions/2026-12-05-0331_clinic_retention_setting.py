"""clinic retention setting

How long a clinic keeps a patient's data after their group ends, and whether `tend retention`
deletes it or strips identifiers and keeps pseudonymous rows. Clinics that exist already get
no period: `tend retention --apply` refuses for them until they choose one.

Revision ID: 3f8b2d6c9e11
Revises: 99691556a952
Create Date: 2026-12-05 03:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f8b2d6c9e11"
down_revision: str | None = "99691556a952"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_years", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "retention_action",
                sa.Enum(
                    "delete", "pseudonymise", name="retentionaction", native_enum=False, length=32
                ),
                nullable=False,
                server_default="delete",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("retention_action")
        batch_op.drop_column("retention_years")
