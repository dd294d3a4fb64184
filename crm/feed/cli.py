"""``flask --app wsgi crm feed …``: recompute the users' feeds, or check them."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from crm.core.db import db

feed_cli = AppGroup("feed", help="The feeds of recent changes that Today lists.")


@feed_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every feed from the recent events, the leads' owners and watchers (after
    events were written in bulk, or to repair a check's findings)."""
    from crm.feed.rebuild import rebuild

    with db.transaction() as session:
        rows = rebuild(session.connection())
    click.echo(f"ok: feed_entry {rows} rows")


@feed_cli.command("check")
def check_command() -> None:
    """Compare the feeds with the entries computed now; exit 1 on any difference."""
    from crm.feed.rebuild import check

    with db.transaction() as session:
        result = check(session.connection())
    for event_id, user_id in result.missing[:50]:
        click.echo(f"missing: event {event_id} for user {user_id}")
    for event_id, user_id in result.extra[:50]:
        click.echo(f"extra: event {event_id} for user {user_id}")
    if not result.ok:
        differences = len(result.missing) + len(result.extra)
        click.echo(f"{differences} differences; `flask --app wsgi crm feed rebuild` repairs them")
        sys.exit(1)
    click.echo(f"ok: feed_entry {result.rows} rows")
