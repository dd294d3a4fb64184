"""indexes for lists at scale: events by lead and instant, and by type and instant

A lead's timeline reads its newest events (``lead_id``, then ``occurred_at`` and ``id``
descending) and the dashboard and digests read the stage moves of a period (``type``,
then a range of ``occurred_at``). The two composite indexes serve them directly; they
replace the single-column indexes on ``lead_id`` and ``type``, of which they are the
first column.

Revision ID: 5b8e2d7c4a91
Revises: 3f7a9c2e41b8
Create Date: 2026-12-05 19:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b8e2d7c4a91"
down_revision: str | None = "3f7a9c2e41b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_lead_occurred", "event", ["lead_id", "occurred_at", "id"], unique=False)
    op.create_index("ix_event_type_occurred", "event", ["type", "occurred_at"], unique=False)
    op.drop_index("ix_event_lead_id", table_name="event")
    op.drop_index("ix_event_type", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_type", "event", ["type"], unique=False)
    op.create_index("ix_event_lead_id", "event", ["lead_id"], unique=False)
    op.drop_index("ix_event_type_occurred", table_name="event")
    op.drop_index("ix_event_lead_occurred", table_name="event")
