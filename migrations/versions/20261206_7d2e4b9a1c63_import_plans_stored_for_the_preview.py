"""Imports: the plan of a large file, stored by a worker for its preview

Revision ID: 7d2e4b9a1c63
Revises: a7c3e91f5d20
Create Date: 2026-12-06 08:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db

revision: str = "7d2e4b9a1c63"
down_revision: str | None = "a7c3e91f5d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_at", crm.core.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "import_plan_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum("create", "update", "unchanged", "error", name="rowaction", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_import_id"],
            ["data_import.id"],
            name=op.f("fk_import_plan_row_data_import_id_data_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_plan_row")),
    )
    op.create_index(
        "ix_import_plan_row_import_number", "import_plan_row", ["data_import_id", "row_number"], unique=False
    )
    op.create_index(
        "ix_import_plan_row_import_action",
        "import_plan_row",
        ["data_import_id", "action", "row_number"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_import_plan_row_import_action", table_name="import_plan_row")
    op.drop_index("ix_import_plan_row_import_number", table_name="import_plan_row")
    op.drop_table("import_plan_row")
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_column("planned_at")
