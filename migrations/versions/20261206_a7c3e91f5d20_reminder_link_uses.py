"""reminder link uses: the one-click links of reminder mail that were used (once each)

Revision ID: a7c3e91f5d20
Revises: a3c9e5f1b7d2
Create Date: 2026-12-06 08:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db

revision: str = "a7c3e91f5d20"
down_revision: str | None = "a3c9e5f1b7d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("used_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followup.id"],
            name=op.f("fk_reminder_link_use_followup_id_followup"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_reminder_link_use_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_link_use")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_reminder_link_use_token_digest")),
    )
    op.create_index(op.f("ix_reminder_link_use_followup_id"), "reminder_link_use", ["followup_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reminder_link_use_followup_id"), table_name="reminder_link_use")
    op.drop_table("reminder_link_use")
