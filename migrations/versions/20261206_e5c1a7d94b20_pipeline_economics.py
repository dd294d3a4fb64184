"""pipeline economics: a lead's probability and expected close date, each stage's default
probability and the reference MAD/USD rate

Revision ID: e5c1a7d94b20
Revises: 5e1b7c9d2a4f
Create Date: 2026-12-06 10:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.core.db

revision: str = "e5c1a7d94b20"
down_revision: str | None = "5e1b7c9d2a4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: on SQLite a batch would recreate ``lead`` and drop the
    # search index's triggers (see 970824dda6b1).  SQLite cannot add a named table CHECK
    # without recreating the table; there the operations' own check guards the range.
    op.add_column("lead", sa.Column("probability", sa.SmallInteger(), nullable=True))
    op.add_column("lead", sa.Column("expected_close_on", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(
            op.f("ck_lead_probability_range"),
            "lead",
            "probability IS NULL OR (probability >= 0 AND probability <= 100)",
        )
    op.create_table(
        "stage_probability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "identified",
                "contacted",
                "meeting_held",
                "proposal",
                "negotiation",
                "agreement_signed",
                "closed_no_go",
                "on_hold",
                name="stage",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("probability", sa.SmallInteger(), nullable=False),
        sa.Column("updated_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "probability >= 0 AND probability <= 100", name=op.f("ck_stage_probability_probability_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_probability")),
        sa.UniqueConstraint("stage", name=op.f("uq_stage_probability_stage")),
    )
    op.create_table(
        "reference_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mad_per_usd", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("set_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("mad_per_usd IS NULL OR mad_per_usd > 0", name=op.f("ck_reference_rate_rate_positive")),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["user_account.id"],
            name=op.f("fk_reference_rate_set_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_rate")),
    )
    with op.batch_alter_table("reference_rate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reference_rate_set_by_id"), ["set_by_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reference_rate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_rate_set_by_id"))
    op.drop_table("reference_rate")
    op.drop_table("stage_probability")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_lead_probability_range"), "lead", type_="check")
    op.drop_column("lead", "expected_close_on")
    op.drop_column("lead", "probability")
