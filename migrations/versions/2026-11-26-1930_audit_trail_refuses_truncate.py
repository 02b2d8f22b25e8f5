"""audit trail refuses truncate

On PostgreSQL, TRUNCATE empties a table without firing its row triggers, so the append-only
audit_event (UPDATE and DELETE refused since b90db4352f07) could still be emptied in one
statement. A statement-level trigger refuses that too. SQLite has no TRUNCATE (its
``DELETE FROM audit_event`` is refused already). A role that owns the table can still drop
the trigger: run the app as one that does not (docs/deploy.md).

Revision ID: 854b3c3e8d39
Revises: 62d14f8bddb4
Create Date: 2026-11-26 19:30:55.935621
"""

from collections.abc import Sequence

from alembic import op

revision: str = "854b3c3e8d39"
down_revision: str | None = "62d14f8bddb4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The function raising "audit_event is append-only" is b90db4352f07's.
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
