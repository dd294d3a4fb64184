"""documents on leads, meetings and missions

Revision ID: d0c5a1e7b9f3
Revises: 5b8e2f4a1c70
Create Date: 2026-12-06 14:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db

revision: str = "d0c5a1e7b9f3"
down_revision: str | None = "5b8e2f4a1c70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("mission_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN mission_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_document_one_owner"),
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_document_lead_id_lead"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_document_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["mission.id"], name=op.f("fk_document_mission_id_mission"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_document_uploaded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_document_storage_key")),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_mission_id"), ["mission_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_mission_id"))
        batch_op.drop_index(batch_op.f("ix_document_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_document_lead_id"))
    op.drop_table("document")
