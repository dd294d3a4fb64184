"""contact search text and search indexes

Contacts get a normalised ``search_text`` like organisations and leads.  Search then
needs an index on the three ``search_text`` columns, one per backend:

* PostgreSQL: ``pg_trgm`` GIN trigram indexes, so ``LIKE '%term%'`` uses an index;
* SQLite (embedded mode): FTS5 trigram tables over the same columns (external content),
  kept in sync by triggers, so ``LIKE '%term%'`` on them uses the full-text index.

Neither is described by the models; ``migrations/env.py`` leaves them out of
``alembic check``.  Note for later SQLite migrations: a batch operation that recreates
``organisation``, ``lead`` or ``contact`` drops these triggers; run
``create_sqlite_search_index`` again after it (tests/test_search.py would fail otherwise).

Revision ID: 970824dda6b1
Revises: 4e6091b33a08
Create Date: 2026-11-29 10:27:44.396309+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm.core.text import search_blob

revision: str = "970824dda6b1"
down_revision: str | None = "4e6091b33a08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED_TABLES = ("organisation", "lead", "contact")


def create_sqlite_search_index(table: str) -> None:
    fts = f"fts_{table}"
    op.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"search_text, content='{table}', content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _fill_contact_search_text() -> None:
    conn = op.get_bind()
    contact = sa.table("contact", sa.column("id"), sa.column("name"), sa.column("title"), sa.column("email"))
    rows = conn.execute(sa.select(contact.c.id, contact.c.name, contact.c.title, contact.c.email)).all()
    for row in rows:
        conn.execute(
            sa.text("UPDATE contact SET search_text = :text WHERE id = :id"),
            {"text": search_blob(row.name, row.title, row.email), "id": row.id},
        )


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    _fill_contact_search_text()
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in SEARCHED_TABLES:
            op.execute(
                f"CREATE INDEX IF NOT EXISTS ix_{table}_search_trgm ON {table} USING gin (search_text gin_trgm_ops)"
            )
    elif dialect == "sqlite":
        for table in SEARCHED_TABLES:
            create_sqlite_search_index(table)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in SEARCHED_TABLES:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_trgm")
    elif dialect == "sqlite":
        for table in SEARCHED_TABLES:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS fts_{table}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS fts_{table}")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("search_text")
