"""programme translations

Weeks and exercises in other languages, from the programme file: a week's words, and an
exercise's title, summary and transcript. Audio is never rendered from them.

Revision ID: 7c2e4b9d1a63
Revises: 7c2e4a9b1d30
Create Date: 2026-12-05 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7c2e4b9d1a63"
down_revision: str | None = "7c2e4a9b1d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def _create(table: str, parent: str, columns: list[sa.Column]) -> None:
    """A translation table: one row per ``parent`` and language, deleted with its parent."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(f"{parent}_id", sa.Integer(), nullable=False),
        sa.Column("language", _TEXT(length=8), nullable=False),
        sa.Column("title", _TEXT(length=200), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            [f"{parent}_id"],
            [f"{parent}.id"],
            name=op.f(f"fk_{table}_{parent}_id_{parent}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            f"{parent}_id", "language", name=op.f(f"uq_{table}_{parent}_id_language")
        ),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{parent}_id"), [f"{parent}_id"])


def upgrade() -> None:
    _create(
        "week_translation",
        "week",
        [
            sa.Column(name, _TEXT(), nullable=False)
            for name in ("theme", "teaching", "reflection_prompt", "home_practice")
        ],
    )
    _create(
        "exercise_translation",
        "exercise",
        [sa.Column(name, _TEXT(), nullable=False) for name in ("summary", "script")],
    )


def downgrade() -> None:
    op.drop_table("exercise_translation")
    op.drop_table("week_translation")
