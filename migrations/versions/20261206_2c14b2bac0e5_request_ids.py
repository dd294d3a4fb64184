"""request ids: the request (or beat tick) behind each event and each mail ledger row

Revision ID: 2c14b2bac0e5
Revises: d0c5a1e7b9f3
Create Date: 2026-12-06 14:05:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "2c14b2bac0e5"
down_revision: str | None = "d0c5a1e7b9f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("outbound_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_mail", schema=None) as batch_op:
        batch_op.drop_column("request_id")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("request_id")
