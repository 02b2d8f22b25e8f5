"""administration prorated

A score that was prorated (unanswered items filled by the mean of the answered ones) now says
so, so that pages can mark it, exports carry it and the summary can leave it out. Existing
rows are filled in from their answers: at this revision only the PHQ-9 allows missing items
(up to two), and a total entered by staff has no answers to prorate.

Revision ID: 5b0c3e7a9d21
Revises: 5e8b0c4f2a61
Create Date: 2026-12-05 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0c3e7a9d21"
down_revision: str | None = "5e8b0c4f2a61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHQ9_ITEMS = [f"q{number}" for number in range(1, 10)]


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: on SQLite a batch rebuilds the table, and dropping
    # the old one with foreign keys on deletes its rows first, cascading to every safety flag.
    op.add_column(
        "administration",
        sa.Column("prorated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    administration = sa.table(
        "administration",
        sa.column("id", sa.Integer),
        sa.column("instrument_id", sa.String),
        sa.column("status", sa.String),
        sa.column("answers", sa.JSON),
        sa.column("entered_as_total", sa.Boolean),
        sa.column("prorated", sa.Boolean),
    )
    connection = op.get_bind()
    scored = connection.execute(
        sa.select(administration.c.id, administration.c.answers).where(
            administration.c.instrument_id == "phq9",
            administration.c.status == "submitted",
            administration.c.entered_as_total == sa.false(),
        )
    )
    prorated = [
        row.id
        for row in scored
        if any((row.answers or {}).get(item) is None for item in PHQ9_ITEMS)
    ]
    if prorated:
        connection.execute(
            administration.update().where(administration.c.id.in_(prorated)).values(prorated=True)
        )


def downgrade() -> None:
    op.drop_column("administration", "prorated")  # SQLite 3.35+ drops a column in place
