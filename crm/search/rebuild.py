"""Rebuild every ``search_text`` from the rows' own fields (:mod:`crm.search.texts`).

Run by the migration that changed what the texts hold and by ``flask --app wsgi crm search
rebuild`` (after a restore, or a change of :mod:`crm.core.text`).  ``search_text`` is
derived from the row's other fields, like an index: rebuilding it changes no data and so
records no event.  Plain ``SELECT``/``UPDATE`` statements on a connection, so a migration
can run it before the models match the tables; only the rows whose text differs are
written, in batches; the full-text tables of SQLite follow through their triggers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from crm.search.texts import contact_text, lead_text, meeting_text, organisation_text, sector_text

BATCH = 2_000

# Each searched table: the columns its text is built from, and the builder.
TABLES: dict[str, tuple[tuple[Any, ...], Callable[[Any], str]]] = {
    "organisation": (
        ("acronym", "name_ar", "name_fr", "name_en", ("aliases", sa.JSON)),
        organisation_text,
    ),
    "contact": (("name", "title", "email", "erased_at"), contact_text),
    "meeting": (("title", "place"), meeting_text),
    "sector": (("name_ar", "name_fr", "name_en"), sector_text),
    "lead": (("title",), lead_text),
}


def rebuild_search_texts(connection: sa.Connection) -> dict[str, int]:
    """Recompute the ``search_text`` of every searched row; return the rows changed per table."""
    changed: dict[str, int] = {}
    for name, (columns, build) in TABLES.items():
        table = sa.table(
            name,
            sa.column("id"),
            sa.column("search_text"),
            *(sa.column(*c) if isinstance(c, tuple) else sa.column(c) for c in columns),
        )
        update = sa.update(table).where(table.c.id == sa.bindparam("row_id")).values(search_text=sa.bindparam("text"))
        pending: list[dict[str, Any]] = []
        changed[name] = 0
        last = 0
        while True:
            rows = connection.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                break
            last = rows[-1].id
            pending = [
                {"row_id": row.id, "text": text} for row in rows if (text := build(row)) != (row.search_text or "")
            ]
            if pending:
                connection.execute(update, pending)
                changed[name] += len(pending)
    return changed
