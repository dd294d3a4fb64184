"""imports: the uploaded files, what each row did, and the mappings remembered per header set

Revision ID: 8c9b1ecf4487
Revises: eb6f88fbabcf
Create Date: 2026-12-01 21:47:16.919058+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db

revision: str = "8c9b1ecf4487"
down_revision: str | None = "eb6f88fbabcf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("organisations", "contacts", "leads", name="importkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
        sa.UniqueConstraint("kind", "signature", name=op.f("uq_import_mapping_kind_signature")),
    )
    op.create_table(
        "data_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("organisations", "contacts", "leads", name="importkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "uploaded",
                "mapped",
                "queued",
                "running",
                "completed",
                "failed",
                "reverted",
                "cancelled",
                name="importstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("file_format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("detected", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("reverted_count", sa.Integer(), nullable=False),
        sa.Column("kept_count", sa.Integer(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", crm.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", crm.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", crm.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reverted_at", crm.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"], name=op.f("fk_data_import_author_id_user_account"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_import")),
    )
    op.create_index(op.f("ix_data_import_author_id"), "data_import", ["author_id"], unique=False)
    op.create_index(op.f("ix_data_import_created_at"), "data_import", ["created_at"], unique=False)
    op.create_index(op.f("ix_data_import_status"), "data_import", ["status"], unique=False)

    op.create_table(
        "import_file",
        sa.Column("data_import_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_import_id"],
            ["data_import.id"],
            name=op.f("fk_import_file_data_import_id_data_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("data_import_id", name=op.f("pk_import_file")),
    )
    op.create_table(
        "import_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum("create", "update", "unchanged", "error", name="rowaction", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("reverted_at", crm.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("kept_because", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_import_id"],
            ["data_import.id"],
            name=op.f("fk_import_row_data_import_id_data_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row")),
    )
    op.create_index("ix_import_row_import_number", "import_row", ["data_import_id", "row_number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_import_row_import_number", table_name="import_row")
    op.drop_table("import_row")
    op.drop_table("import_file")
    op.drop_index(op.f("ix_data_import_status"), table_name="data_import")
    op.drop_index(op.f("ix_data_import_created_at"), table_name="data_import")
    op.drop_index(op.f("ix_data_import_author_id"), table_name="data_import")
    op.drop_table("data_import")
    op.drop_table("import_mapping")
