"""user hour cycle: 24-hour or 12-hour clock, or the language's own (auto)

Revision ID: 5e1b7c9d2a4f
Revises: 5b8e2d7c4f19
Create Date: 2026-12-06 10:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1b7c9d2a4f"
down_revision: str | None = "5b8e2d7c4f19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "hour_cycle",
                sa.Enum("auto", "24", "12", name="hourcycle", native_enum=False, length=4),
                server_default="auto",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("hour_cycle")
