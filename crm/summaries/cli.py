"""``flask --app wsgi crm summaries …``: recompute the summaries, or check them."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from crm.core.db import db

summaries_cli = AppGroup("summaries", help="The dashboard's and the board's summary tables.")


@summaries_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every summary from the leads, their events and follow-ups (after rows
    were written without events, e.g. a bulk load, or to repair a check's findings)."""
    from crm.summaries.rebuild import rebuild

    with db.transaction() as session:
        rows = rebuild(session.connection())
    click.echo("ok: " + ", ".join(f"{table} {count}" for table, count in rows.items()) + " rows")


@summaries_cli.command("check")
def check_command() -> None:
    """Compare the summaries with the figures computed now; exit 1 on any difference."""
    from crm.summaries.rebuild import check

    with db.transaction() as session:
        result = check(session.connection())
    for difference in result.differences[:50]:
        click.echo(f"{difference.table} {difference.key}: kept {difference.kept}, expected {difference.expected}")
    if not result.ok:
        click.echo(f"{len(result.differences)} differences; `flask --app wsgi crm summaries rebuild` repairs them")
        sys.exit(1)
    click.echo("ok: " + ", ".join(f"{table} {count}" for table, count in result.rows.items()) + " rows")
