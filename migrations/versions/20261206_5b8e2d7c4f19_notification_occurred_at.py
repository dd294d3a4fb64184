"""notification occurred_at: a notification is dated by the moment of what it tells

Revision ID: 5b8e2d7c4f19
Revises: 871bcb8ff746
Create Date: 2026-12-06 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.core.db

revision: str = "5b8e2d7c4f19"
down_revision: str | None = "871bcb8ff746"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurred_at", crm.core.db.UTCDateTime(timezone=True), nullable=True))
    # What came before: an event's notification takes the event's moment, the others their own.
    op.execute("UPDATE notification SET occurred_at = created_at")
    op.execute(
        "UPDATE notification SET occurred_at = "
        "(SELECT event.occurred_at FROM event WHERE 'event:' || event.id = notification.source) "
        "WHERE source LIKE 'event:%' "
        "AND EXISTS (SELECT 1 FROM event WHERE 'event:' || event.id = notification.source)"
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("occurred_at", existing_type=crm.core.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_notification_user_occurred", ["user_id", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_occurred")
        batch_op.drop_column("occurred_at")
