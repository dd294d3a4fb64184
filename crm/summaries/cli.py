"""``flask --app wsgi crm summaries …``: recompute the summaries, or check them."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from crm.core.db import db

summaries_cli = AppGroup(
    "summaries", help="The dashboard's and the board's summary tables, and the leads' next follow-ups."
)


@summaries_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every summary from the leads, their events and follow-ups (after rows
    were written without events, e.g. a bulk load, or to repair a check's findings), and
    the next follow-up of the leads where it differs from their follow-ups."""
    from crm.leads.next_due import repair_next_due
    from crm.summaries.rebuild import rebuild

    with db.transaction() as session:
        rows = rebuild(session.connection())
        repaired = repair_next_due(session.connection())
    click.echo("ok: " + ", ".join(f"{table} {count}" for table, count in rows.items()) + " rows")
    click.echo(f"ok: next follow-up set again on {repaired} leads")


@summaries_cli.command("check")
def check_command() -> None:
    """Compare the summaries, and the leads' next follow-ups, with the figures computed now;
    exit 1 on any difference."""
    from crm.leads.next_due import next_due_differences
    from crm.summaries.rebuild import check

    with db.transaction() as session:
        result = check(session.connection())
        leads = next_due_differences(session.connection())
    for difference in result.differences[:50]:
        click.echo(f"{difference.table} {difference.key}: kept {difference.kept}, expected {difference.expected}")
    for lead in leads[:50]:
        click.echo(f"lead.next_due_at ({lead.lead_id},): kept {lead.kept}, expected {lead.expected}")
    found = len(result.differences) + len(leads)
    if found:
        click.echo(f"{found} differences; `flask --app wsgi crm summaries rebuild` repairs them")
        sys.exit(1)
    click.echo("ok: " + ", ".join(f"{table} {count}" for table, count in result.rows.items()) + " rows")
