"""itinerary feeds: the generation of each delegate's calendar feed address (revoked ones refused)

Revision ID: 3b8e5d1f7a94
Revises: 2c14b2bac0e5
Create Date: 2026-12-06 14:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.core.db

revision: str = "3b8e5d1f7a94"
down_revision: str | None = "2c14b2bac0e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "itinerary_feed",
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("revoked_at", crm.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_itinerary_feed_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["mission.id"], name=op.f("fk_itinerary_feed_mission_id_mission"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("mission_id", "contact_id", name=op.f("pk_itinerary_feed")),
    )
    with op.batch_alter_table("itinerary_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_itinerary_feed_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("itinerary_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_itinerary_feed_contact_id"))
    op.drop_table("itinerary_feed")
