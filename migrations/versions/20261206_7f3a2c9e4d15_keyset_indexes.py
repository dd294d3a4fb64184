"""keyset indexes: the lists' orders as indexes, so a page is found by walking one

Revision ID: 7f3a2c9e4d15
Revises: b8d2f4a61c93
Create Date: 2026-12-06 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f3a2c9e4d15"
down_revision: str | None = "b8d2f4a61c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The lead list's default order, ties broken by id, read backwards from the newest.
    op.create_index("ix_lead_updated_id", "lead", ["updated_at", "id"])
    op.create_index("ix_lead_created_id", "lead", ["created_at", "id"])
    op.create_index("ix_lead_title_sort", "lead", [sa.text("lower(title)"), "id"])
    op.create_index("ix_lead_value_id", "lead", ["estimated_value", "id"])
    if op.get_bind().dialect.name == "postgresql":  # the largest first, empty ones last
        op.execute("CREATE INDEX ix_lead_value_desc_pg ON lead (estimated_value DESC NULLS LAST, id DESC)")
    op.create_index("ix_followup_due_id", "followup", ["due_at", "id"])
    op.create_index("ix_activity_occurred_id", "activity", ["occurred_at", "id"])
    op.create_index("ix_organisation_sort", "organisation", [sa.text("lower(coalesce(acronym, name_en, ''))"), "id"])
    op.create_index("ix_contact_sort", "contact", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_contact_sort", table_name="contact")
    op.drop_index("ix_organisation_sort", table_name="organisation")
    op.drop_index("ix_activity_occurred_id", table_name="activity")
    op.drop_index("ix_followup_due_id", table_name="followup")
    op.drop_index("ix_lead_value_id", table_name="lead")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_lead_value_desc_pg", table_name="lead")
    op.drop_index("ix_lead_title_sort", table_name="lead")
    op.drop_index("ix_lead_created_id", table_name="lead")
    op.drop_index("ix_lead_updated_id", table_name="lead")
