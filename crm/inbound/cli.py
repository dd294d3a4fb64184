"""``flask --app wsgi crm inbound-smtp``: the inbound SMTP service, in the foreground."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("inbound-smtp")
@click.option("--bind", default=None, help="host:port to listen on (default: INBOUND_SMTP_BIND).")
@with_appcontext
def inbound_smtp_command(bind: str | None) -> None:
    """Receive mail for the logging addresses until stopped (SIGTERM or Ctrl-C)."""
    from crm.inbound.smtp import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    serve(app, bind, say=lambda text: click.echo(text))
