"""Subscriptions: the reader's organisation, and when a stopped one was started again

Revision ID: d12b36207344
Revises: 9eaee32ae198
Create Date: 2026-12-01 22:22:38.694047+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db

revision: str = "d12b36207344"
down_revision: str | None = "9eaee32ae198"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resumed_at", crm.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_subscription_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subscription_organisation_id_organisation"),
            "organisation",
            ["organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_subscription_organisation_id_organisation"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_subscription_organisation_id"))
        batch_op.drop_column("resumed_at")
        batch_op.drop_column("organisation_id")

