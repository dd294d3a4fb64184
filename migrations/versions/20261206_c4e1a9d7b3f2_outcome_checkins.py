"""outcome check-ins: the questions sent after a meeting, their answers, and contacts who opted out

Revision ID: c4e1a9d7b3f2
Revises: e5c1a7d94b20
Create Date: 2026-12-06 10:56:36.625070+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db

revision: str = "c4e1a9d7b3f2"
down_revision: str | None = "e5c1a7d94b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("lead_ids", sa.JSON(), nullable=False),
        sa.Column("mail_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sent_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_checkin_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_checkin_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("meeting_id", "days", "contact_id", name="uq_checkin_meeting_days_contact"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "checkin_opt_out",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opted_out_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_checkin_opt_out_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_checkin_opt_out")),
    )
    op.create_table(
        "checkin_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "no_further_contact",
                "talking",
                "negotiating",
                "agreement_signed",
                "not_relevant",
                name="outcome",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("contradicts", sa.Boolean(), nullable=False),
        sa.Column("answered_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_checkin_answer_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_checkin_answer_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_checkin_answer_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_answer")),
        sa.UniqueConstraint("meeting_id", "days", "contact_id", "lead_id", name="uq_checkin_answer_link"),
    )
    with op.batch_alter_table("checkin_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_answer_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_answer_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_checkin_answer_meeting", ["meeting_id", "days"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_answer_meeting")
        batch_op.drop_index(batch_op.f("ix_checkin_answer_lead_id"))
        batch_op.drop_index(batch_op.f("ix_checkin_answer_contact_id"))

    op.drop_table("checkin_answer")
    op.drop_table("checkin_opt_out")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_contact_id"))

    op.drop_table("checkin")
