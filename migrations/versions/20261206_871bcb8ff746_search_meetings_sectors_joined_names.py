"""search: meetings and sectors get a search text; names also written joined

Meetings (title, place) and sectors (three names) get a normalised ``search_text`` like
organisations and contacts: search finds meetings, and leads through their sector.
Meetings get the same index as the other searched tables (a ``pg_trgm`` GIN index on
PostgreSQL, an FTS5 trigram table kept by triggers on SQLite); sectors are a short list
read whole.  Every search text is then rebuilt (``crm.search.rebuild``): organisations,
contacts, meetings and sectors now also hold their names of several words written joined
("paloalto" finds "Palo Alto Networks").

Revision ID: 871bcb8ff746
Revises: 5e1b7c2d9f40
Create Date: 2026-12-06 10:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm.search.rebuild import rebuild_search_texts

revision: str = "871bcb8ff746"
down_revision: str | None = "5e1b7c2d9f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_sqlite_search_index(table: str) -> None:
    """As in the migration ``contact search text and search indexes``."""
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


def upgrade() -> None:
    for table in ("meeting", "sector"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_meeting_search_trgm ON meeting USING gin (search_text gin_trgm_ops)")
    elif dialect == "sqlite":
        _create_sqlite_search_index("meeting")
    rebuild_search_texts(op.get_bind())


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_meeting_search_trgm")
    elif dialect == "sqlite":
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS fts_meeting_{suffix}")
        op.execute("DROP TABLE IF EXISTS fts_meeting")
    for table in ("sector", "meeting"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_text")
