"""safety flag: one open per enrolment, answer history, response time, acknowledgement note

A risk answer given on a form that was then refused has no administration, so
``administration_id`` may be empty (and deleting a draft no longer deletes its flag). An
enrolment that already had several open flags keeps the newest open; the older ones are closed
as merged into it, saying so, so the new unique index can hold.

Revision ID: 99691556a952
Revises: 7c1e5a9d2b40
Create Date: 2026-12-05 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "99691556a952"
down_revision: str | None = "7c1e5a9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE safety_flag SET acknowledged_at = raised_at, "
        "acknowledged_by_name = 'Tend: merged into the newer open flag' "
        "WHERE acknowledged_at IS NULL AND id < ("
        "SELECT MAX(newer.id) FROM safety_flag AS newer "
        "WHERE newer.enrolment_id = safety_flag.enrolment_id AND newer.acknowledged_at IS NULL)"
    )
    with op.batch_alter_table("safety_flag", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timepoint", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("answer_history", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("respond_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "acknowledged_action",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("acknowledged_note", sa.Text(), nullable=True))
        batch_op.alter_column("administration_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(
            "uq_safety_flag_open_per_enrolment",
            ["enrolment_id"],
            unique=True,
            sqlite_where=sa.text("acknowledged_at IS NULL"),
            postgresql_where=sa.text("acknowledged_at IS NULL"),
        )
        batch_op.drop_constraint(
            batch_op.f("fk_safety_flag_administration_id_administration"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_safety_flag_administration_id_administration"),
            "administration",
            ["administration_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Flags raised before this revision were alerted the old way (on the staff pages).
    op.execute("UPDATE safety_flag SET alerted_at = raised_at")


def downgrade() -> None:
    op.execute("DELETE FROM safety_flag WHERE administration_id IS NULL")
    with op.batch_alter_table("safety_flag", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_safety_flag_administration_id_administration"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_safety_flag_administration_id_administration"),
            "administration",
            ["administration_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_index(
            "uq_safety_flag_open_per_enrolment",
            sqlite_where=sa.text("acknowledged_at IS NULL"),
            postgresql_where=sa.text("acknowledged_at IS NULL"),
        )
        batch_op.alter_column("administration_id", existing_type=sa.INTEGER(), nullable=False)
        for name in (
            "acknowledged_note",
            "acknowledged_action",
            "escalated_at",
            "alerted_at",
            "respond_by",
            "answer_history",
            "timepoint",
        ):
            batch_op.drop_column(name)
