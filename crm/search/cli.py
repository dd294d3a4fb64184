"""``flask --app wsgi crm search …``: the search texts from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.core.db import db

search_cli = AppGroup("search", help="Search texts and indexes.")


@search_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute the search text of every organisation, contact, meeting, sector and lead
    (rows already up to date are left alone)."""
    from crm.search.rebuild import rebuild_search_texts

    with db.transaction() as session:
        changed = rebuild_search_texts(session.connection())
    click.echo("ok: " + ", ".join(f"{table} {count}" for table, count in changed.items()) + " rows rebuilt")
