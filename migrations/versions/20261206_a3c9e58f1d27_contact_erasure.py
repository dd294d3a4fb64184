"""contact erasure: when a contact's personal data was erased at their request

A plain ``ADD COLUMN`` / ``DROP COLUMN`` (SQLite 3.35+ has both) rather than a batch
operation, which on SQLite would recreate ``contact`` and drop its search triggers.

Revision ID: a3c9e58f1d27
Revises: 5b8e2d7c4a91
Create Date: 2026-12-06 08:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.core.db

revision: str = "a3c9e58f1d27"
down_revision: str | None = "5b8e2d7c4a91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contact", sa.Column("erased_at", crm.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE contact DROP COLUMN erased_at")
