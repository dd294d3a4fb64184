"""lead sort columns: a lead's stage rank and next follow-up as stored columns, so that the
lead lists sorted by stage or by next follow-up walk an index instead of sorting every lead;
and the leads by owner and id, so that the list sorted by owner walks each owner's leads

* ``lead.stage_rank``: generated from ``stage`` (the lists' order of stages).  PostgreSQL
  stores it; SQLite cannot add a stored generated column to a table that exists (it would
  recreate ``lead``, and drop the search index's triggers, see 970824dda6b1), so there it is
  computed on read and kept in its index.
* ``lead.next_due_at``: the earliest due instant of the lead's open follow-ups, kept by
  triggers on ``followup`` in the transaction that changes them, whatever the writer (an
  operation, a bulk statement, a lead's deletion).  On PostgreSQL the trigger locks the lead
  row before it reads the follow-ups, so two transactions changing one lead's follow-ups at
  once cannot leave the value the first computed.  ``crm summaries check`` compares it with
  the follow-ups and ``crm summaries rebuild`` recomputes it.

Note for later SQLite migrations: a batch operation that recreates ``followup`` drops its
triggers; run ``create_next_due_triggers`` again after it (tests/test_next_due.py would fail).

Revision ID: c2d7e4a9f1b3
Revises: 8c4e2b7d1a95
Create Date: 2026-12-06 19:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.core.db

revision: str = "c2d7e4a9f1b3"
down_revision: str | None = "8c4e2b7d1a95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGE_RANK = (
    "CASE stage WHEN 'identified' THEN 0 WHEN 'contacted' THEN 1 WHEN 'meeting_held' THEN 2"
    " WHEN 'proposal' THEN 3 WHEN 'negotiation' THEN 4 WHEN 'agreement_signed' THEN 5"
    " WHEN 'on_hold' THEN 6 WHEN 'closed_no_go' THEN 7 ELSE 8 END"
)


def _earliest(lead_id: str) -> str:
    return f"(SELECT min(f.due_at) FROM followup f WHERE f.lead_id = {lead_id} AND f.status = 'open')"  # noqa: S608


BACKFILL = (
    f"UPDATE lead SET next_due_at = {_earliest('lead.id')}"  # noqa: S608
    " WHERE id IN (SELECT lead_id FROM followup WHERE status = 'open')"
)

# A follow-up row counts for its lead's next follow-up when it is open (or was).
_UPDATE_WHEN = (
    "(OLD.status = 'open' OR NEW.status = 'open') AND (OLD.lead_id IS DISTINCT FROM NEW.lead_id"
    " OR OLD.status IS DISTINCT FROM NEW.status OR OLD.due_at IS DISTINCT FROM NEW.due_at)"
)

PG_FUNCTIONS = (
    # Lock the lead first, then read its follow-ups: each statement of a PL/pgSQL function
    # sees the transactions committed before it began, so one that changed this lead's
    # follow-ups at the same time (and held the lock) is seen.
    """CREATE FUNCTION lead_next_due_refresh(lead_ident integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM lead WHERE id = lead_ident FOR NO KEY UPDATE;
    UPDATE lead SET next_due_at = due.at
    FROM (SELECT min(f.due_at) AS at FROM followup f WHERE f.lead_id = lead_ident AND f.status = 'open') AS due
    WHERE lead.id = lead_ident AND lead.next_due_at IS DISTINCT FROM due.at;
END $$""",
    """CREATE FUNCTION followup_next_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM lead_next_due_refresh(NEW.lead_id);
    ELSIF TG_OP = 'DELETE' OR NEW.lead_id = OLD.lead_id THEN
        PERFORM lead_next_due_refresh(OLD.lead_id);
    ELSE  -- moved to another lead: both, in id order
        PERFORM lead_next_due_refresh(LEAST(OLD.lead_id, NEW.lead_id));
        PERFORM lead_next_due_refresh(GREATEST(OLD.lead_id, NEW.lead_id));
    END IF;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION followup_next_due_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lead SET next_due_at = NULL WHERE next_due_at IS NOT NULL;
    RETURN NULL;
END $$""",
)

PG_TRIGGERS = (
    "CREATE TRIGGER followup_next_due_ins AFTER INSERT ON followup FOR EACH ROW"
    " WHEN (NEW.status = 'open') EXECUTE FUNCTION followup_next_due()",
    "CREATE TRIGGER followup_next_due_upd AFTER UPDATE OF lead_id, status, due_at ON followup FOR EACH ROW"
    f" WHEN ({_UPDATE_WHEN}) EXECUTE FUNCTION followup_next_due()",
    "CREATE TRIGGER followup_next_due_del AFTER DELETE ON followup FOR EACH ROW"
    " WHEN (OLD.status = 'open') EXECUTE FUNCTION followup_next_due()",
    "CREATE TRIGGER followup_next_due_trunc AFTER TRUNCATE ON followup"
    " FOR EACH STATEMENT EXECUTE FUNCTION followup_next_due_truncated()",
)


def _sqlite_refresh(lead_id: str) -> str:
    earliest = _earliest(lead_id)
    return f"UPDATE lead SET next_due_at = {earliest} WHERE id = {lead_id} AND next_due_at IS NOT {earliest};"  # noqa: S608


SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS followup_next_due_ins AFTER INSERT ON followup"
    f" WHEN NEW.status = 'open' BEGIN {_sqlite_refresh('NEW.lead_id')} END",
    "CREATE TRIGGER IF NOT EXISTS followup_next_due_upd AFTER UPDATE OF lead_id, status, due_at ON followup"
    f" WHEN {_UPDATE_WHEN.replace('IS DISTINCT FROM', 'IS NOT')}"
    f" BEGIN {_sqlite_refresh('OLD.lead_id')} {_sqlite_refresh('NEW.lead_id')} END",
    "CREATE TRIGGER IF NOT EXISTS followup_next_due_del AFTER DELETE ON followup"
    f" WHEN OLD.status = 'open' BEGIN {_sqlite_refresh('OLD.lead_id')} END",
)
TRIGGERS = ("followup_next_due_ins", "followup_next_due_upd", "followup_next_due_del", "followup_next_due_trunc")


def create_next_due_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*PG_FUNCTIONS, *PG_TRIGGERS):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("lead", sa.Column("next_due_at", crm.core.db.UTCDateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    create_next_due_triggers()
    # On PostgreSQL this rewrites the table (a stored column); after the backfill, so the
    # rows it updated are written once more rather than left behind as dead ones.
    op.add_column(
        "lead", sa.Column("stage_rank", sa.SmallInteger(), sa.Computed(STAGE_RANK, persisted=postgresql), nullable=True)
    )
    op.create_index("ix_lead_stage_rank_id", "lead", ["stage_rank", "id"])
    op.create_index("ix_lead_next_due_id", "lead", ["next_due_at", "id"])
    if postgresql:  # the latest first, leads without an open follow-up last
        op.execute("CREATE INDEX ix_lead_next_due_desc_pg ON lead (next_due_at DESC NULLS LAST, id DESC)")
    op.create_index("ix_lead_owner_id_id", "lead", ["owner_id", "id"])
    op.drop_index("ix_lead_owner_id", table_name="lead")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index("ix_lead_owner_id", "lead", ["owner_id"])
    op.drop_index("ix_lead_owner_id_id", table_name="lead")
    if postgresql:
        op.drop_index("ix_lead_next_due_desc_pg", table_name="lead")
    op.drop_index("ix_lead_next_due_id", table_name="lead")
    op.drop_index("ix_lead_stage_rank_id", table_name="lead")
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON followup" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS followup_next_due_truncated()")
        op.execute("DROP FUNCTION IF EXISTS followup_next_due()")
        op.execute("DROP FUNCTION IF EXISTS lead_next_due_refresh(integer)")
    op.drop_column("lead", "stage_rank")
    op.drop_column("lead", "next_due_at")
