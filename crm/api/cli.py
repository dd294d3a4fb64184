"""``flask --app wsgi crm tokens …``: API tokens from the command line."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask.cli import AppGroup

from crm.api.models import TokenScope
from crm.core.db import db
from crm.core.errors import ValidationError

tokens_cli = AppGroup("tokens", help="Manage API tokens.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@tokens_cli.command("create")
@click.option("--email", required=True, help="The user the token acts for.")
@click.option("--scope", type=click.Choice([s.value for s in TokenScope]), required=True)
@click.option("--name", default="Command line", show_default=True, help="What the token is for.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None, help="Default: never expires.")
def create_token_command(email: str, scope: str, name: str, expires_in_days: int | None) -> None:
    """Make a token and print it once (only its hash is kept)."""
    from crm.accounts.operations import find_user_by_email
    from crm.api.operations import create_api_token
    from crm.cli import _fail_validation
    from crm.core.time import utcnow

    user = find_user_by_email(db.session, email)
    if user is None:
        _fail(f"no user with the email {email}")
        return
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    try:
        with db.transaction() as session:
            token, secret = create_api_token(session, user, name=name, scope=scope, expires_at=expires_at)
    except ValidationError as exc:
        _fail_validation(exc)
        return
    click.echo(f"Created {token.scope.value} token {token.id} “{token.name}” for {user.email}.", err=True)
    click.echo("It is shown only now: keep it secret.", err=True)
    click.echo(secret)


@tokens_cli.command("list")
@click.option("--email", default=None, help="Only this user's tokens.")
def list_tokens_command(email: str | None) -> None:
    """List tokens: id, prefix, user, scope, state, created, last used, expires, name."""
    from crm.accounts.operations import find_user_by_email
    from crm.api.tokens import token_rows

    user = None
    if email:
        user = find_user_by_email(db.session, email)
        if user is None:
            _fail(f"no user with the email {email}")
    for row in token_rows(db.session, user):
        token = row.token
        state = "revoked" if token.revoked_at else "expired" if token.is_expired() else "active"
        used = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "never"
        expires = token.expires_at.isoformat(timespec="minutes") if token.expires_at else "never"
        created = token.created_at.isoformat(timespec="minutes")
        fields = [str(token.id), token.display_prefix, row.user.email, token.scope.value, state, created, used]
        click.echo("\t".join([*fields, expires, token.name]))


@tokens_cli.command("revoke")
@click.argument("reference")
def revoke_token_command(reference: str) -> None:
    """Revoke a token, named by its id or its prefix (jisr_<prefix>)."""
    from crm.api.operations import revoke_api_token
    from crm.api.tokens import find_token

    token = find_token(db.session, reference)
    if token is None:
        _fail(f"no token {reference}")
        return
    with db.transaction() as session:
        changed = revoke_api_token(session, token)
    click.echo(f"Revoked token {token.id} “{token.name}”." if changed else f"Token {token.id} was already revoked.")
