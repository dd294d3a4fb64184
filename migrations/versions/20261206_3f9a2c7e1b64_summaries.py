"""summaries: tallies of the leads, their stage moves and open follow-ups for the dashboard and
the board, with the members they count, filled from the rows already there

Revision ID: 3f9a2c7e1b64
Revises: 7f3a2c9e4d15
Create Date: 2026-12-06 16:33:32.041819+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db


revision: str = "3f9a2c7e1b64"
down_revision: str | None = "7f3a2c9e4d15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_due_tally",
        sa.Column("hour", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("lead_owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("followups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "owner_id", "confidential", "lead_owner_id", name=op.f("pk_summary_due_tally")),
    )
    op.create_table(
        "summary_followup",
        sa.Column("followup_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("hour", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("lead_owner_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("followup_id", name=op.f("pk_summary_followup")),
    )
    with op.batch_alter_table("summary_followup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_summary_followup_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "summary_lead",
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("ma_organisation_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("probability", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_summary_lead")),
    )
    op.create_table(
        "summary_lead_tally",
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("sector_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ma_organisation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("valued", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("weighted_own", sa.Numeric(precision=24, scale=2), nullable=False),
        sa.Column("value_default", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint(
            "stage",
            "currency",
            "sector_id",
            "ma_organisation_id",
            "owner_id",
            "confidential",
            name=op.f("pk_summary_lead_tally"),
        ),
    )
    op.create_table(
        "summary_move",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("hour", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("advanced", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_summary_move")),
    )
    with op.batch_alter_table("summary_move", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_summary_move_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "summary_move_tally",
        sa.Column("hour", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("advanced", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "advanced", "confidential", "owner_id", name=op.f("pk_summary_move_tally")),
    )
    fill()


# The state of crm.summaries.rebuild when this migration was written: a database upgraded
# here is right at once, whatever that module becomes.
def _hour(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def fill() -> None:
    dialect = op.get_bind().dialect.name
    advanced = (
        "COALESCE((e.payload ->> 'advanced') = 'true', false)"
        if dialect == "postgresql"
        else "COALESCE(json_extract(e.payload, '$.advanced'), 0) = 1"
    )
    op.execute(
        "INSERT INTO summary_lead (lead_id, stage, currency, sector_id, ma_organisation_id, owner_id, confidential,"
        " value, probability) SELECT id, stage, COALESCE(currency, ''), COALESCE(sector_id, 0), ma_organisation_id,"
        " owner_id, confidential, estimated_value, probability FROM lead"
    )
    op.execute(
        "INSERT INTO summary_move (event_id, lead_id, hour, advanced, confidential, owner_id)"
        f" SELECT e.id, e.lead_id, {_hour('e.occurred_at', dialect)}, {advanced}, l.confidential,"
        " CASE WHEN l.confidential THEN l.owner_id ELSE 0 END"
        " FROM event e JOIN lead l ON l.id = e.lead_id WHERE e.type = 'lead.stage_changed'"
    )
    op.execute(
        "INSERT INTO summary_followup (followup_id, lead_id, hour, owner_id, confidential, lead_owner_id)"
        f" SELECT f.id, f.lead_id, {_hour('f.due_at', dialect)}, f.owner_id, l.confidential,"
        " CASE WHEN l.confidential THEN l.owner_id ELSE 0 END"
        " FROM followup f JOIN lead l ON l.id = f.lead_id WHERE f.status = 'open'"
    )
    key = "stage, currency, sector_id, ma_organisation_id, owner_id, confidential"
    op.execute(
        f"INSERT INTO summary_lead_tally ({key}, leads, valued, value, weighted_own, value_default)"
        f" SELECT {key}, COUNT(*), COUNT(value), COALESCE(SUM(value), 0), COALESCE(SUM(value * probability), 0),"
        f" COALESCE(SUM(CASE WHEN probability IS NULL THEN value END), 0) FROM summary_lead GROUP BY {key}"
    )
    key = "hour, advanced, confidential, owner_id"
    op.execute(f"INSERT INTO summary_move_tally ({key}, moves) SELECT {key}, COUNT(*) FROM summary_move GROUP BY {key}")
    key = "hour, owner_id, confidential, lead_owner_id"
    op.execute(
        f"INSERT INTO summary_due_tally ({key}, followups) SELECT {key}, COUNT(*) FROM summary_followup GROUP BY {key}"
    )


def downgrade() -> None:
    op.drop_table("summary_move_tally")
    with op.batch_alter_table("summary_move", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summary_move_lead_id"))

    op.drop_table("summary_move")
    op.drop_table("summary_lead_tally")
    op.drop_table("summary_lead")
    with op.batch_alter_table("summary_followup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summary_followup_lead_id"))

    op.drop_table("summary_followup")
    op.drop_table("summary_due_tally")
