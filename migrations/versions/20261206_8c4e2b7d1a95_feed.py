"""feed: the entries of the recent changes on the leads each user owns or watches, that
Today reads, filled from the events already there

Revision ID: 8c4e2b7d1a95
Revises: 3f9a2c7e1b64
Create Date: 2026-12-06 19:35:47.668277+00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import crm.core.db


revision: str = "8c4e2b7d1a95"
down_revision: str | None = "3f9a2c7e1b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_entry",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_feed_entry_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_feed_entry_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "user_id", name=op.f("pk_feed_entry")),
    )
    fill()
    # The indexes after the rows: built once rather than grown row by row.
    with op.batch_alter_table("feed_entry", schema=None) as batch_op:
        batch_op.create_index("ix_feed_entry_lead_user", ["lead_id", "user_id"], unique=False)
        batch_op.create_index("ix_feed_entry_user_occurred", ["user_id", "occurred_at", "event_id"], unique=False)


# The state of crm.feed.rebuild when this migration was written: a database upgraded here
# is right at once, whatever that module becomes.  Today lists 14 days; the feed keeps 15.
def fill() -> None:
    since = datetime.now(UTC) - timedelta(days=15)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO feed_entry (event_id, user_id, lead_id, occurred_at)"
            " SELECT e.id, m.user_id, e.lead_id, e.occurred_at FROM event e"
            " JOIN (SELECT id AS lead_id, owner_id AS user_id FROM lead"
            " UNION SELECT lead_id, user_id FROM lead_watcher) m ON m.lead_id = e.lead_id"
            " WHERE e.occurred_at >= :since AND (e.actor_id IS NULL OR e.actor_id <> m.user_id)"
        ).bindparams(sa.bindparam("since", since, type_=crm.core.db.UTCDateTime()))
    )


def downgrade() -> None:
    with op.batch_alter_table("feed_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_entry_user_occurred")
        batch_op.drop_index("ix_feed_entry_lead_user")

    op.drop_table("feed_entry")
