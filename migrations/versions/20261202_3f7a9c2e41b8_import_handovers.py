"""Imports: when a confirmed import was last handed to a worker, and how many times

Revision ID: 3f7a9c2e41b8
Revises: 8c9b1ecf4487
Create Date: 2026-12-02 01:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.core.db

revision: str = "3f7a9c2e41b8"
down_revision: str | None = "8c9b1ecf4487"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handovers", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("queued_at", crm.core.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE data_import SET queued_at = confirmed_at")
    op.execute("UPDATE data_import SET handovers = 1 WHERE task_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_column("queued_at")
        batch_op.drop_column("handovers")
