"""Imports: values for all rows of a field the file has no column for

Revision ID: 5e1b7c2d9f40
Revises: 7d2e4b9a1c63
Create Date: 2026-12-06 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1b7c2d9f40"
down_revision: str | None = "7d2e4b9a1c63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("defaults", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_column("defaults")
