"""interface language

Each person may choose the language Tend speaks to them (user.language); a clinic has a
default for its people (clinic.default_language, English for clinics that exist already).

Revision ID: 7c2e4a9b1d30
Revises: 5d1f0c7a9e21
Create Date: 2026-12-05 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7c2e4a9b1d30"
down_revision: str | None = "5d1f0c7a9e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not batch copies: on SQLite a batch rebuilds the table, and dropping
    # the old clinic or user table with foreign keys on would cascade to everything they own.
    op.add_column(
        "clinic",
        sa.Column(
            "default_language",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            nullable=True,
            server_default="en",
        ),
    )
    op.add_column(
        "user", sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("user", "language")  # SQLite 3.35+ drops a column in place
    op.drop_column("clinic", "default_language")
