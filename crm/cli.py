"""``flask --app wsgi crm …``: demo data, users, checks."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from crm.accounts.models import Language, Role
from crm.api.cli import tokens_cli
from crm.core.db import db
from crm.core.errors import ValidationError
from crm.core.i18n import LANGUAGES
from crm.feed.cli import feed_cli
from crm.search.cli import search_cli
from crm.summaries.cli import summaries_cli


@click.pass_context
def _servers_answer(ctx: click.Context) -> None:
    """Every command but ``check`` needs the database: when it (or Redis) does not answer,
    one line and exit code 2.  ``check`` reports on each part itself."""
    from flask.cli import ScriptInfo

    from crm.core.preflight import check_servers, one_line_on_bad_setup

    app = ctx.ensure_object(ScriptInfo).load_app()
    if ctx.invoked_subcommand == "check" or app.testing:
        return
    with one_line_on_bad_setup():
        check_servers(app.config["DATABASE_URL"], app.config["REDIS_URL"])


crm_cli = AppGroup("crm", help="Jisr administration commands.", callback=_servers_answer)
users_cli = AppGroup("users", help="Manage user accounts.")
crm_cli.add_command(users_cli)
crm_cli.add_command(tokens_cli)
crm_cli.add_command(search_cli)
crm_cli.add_command(summaries_cli)
crm_cli.add_command(feed_cli)


def cli_language() -> str:
    """The terminal's language when Jisr speaks it (``LANG=fr_MA.UTF-8``), else English."""
    language = (os.environ.get("LC_ALL") or os.environ.get("LANG") or "en")[:2]
    return language if language in LANGUAGES else "en"


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _fail_validation(exc: ValidationError) -> None:
    with force_locale(cli_language()):
        _fail("; ".join(f"{field}: {message}" for field, message in exc.errors.items()))


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="")
@click.option("--language", type=click.Choice([lang.value for lang in Language]), default="fr")
@click.option("--timezone", "zone", default="Africa/Casablanca", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email: str, role: str, name: str, language: str, zone: str, password_stdin: bool) -> None:
    """Create a user account (the first admin of a new install starts here)."""
    from crm.accounts.operations import create_user

    if not password_stdin:
        _fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.transaction() as session:
            user = create_user(
                session, email=email, password=password, role=role, name=name, language=language, timezone=zone
            )
    except ValidationError as exc:
        _fail_validation(exc)
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@users_cli.command("list")
def list_users_command() -> None:
    """List user accounts."""
    from sqlmodel import col, select

    from crm.accounts.models import User

    for user in db.session.exec(select(User).order_by(col(User.id))):
        state = "active" if user.is_active else "inactive"
        click.echo(f"{user.id}\t{user.email}\t{user.role.value}\t{user.language.value}\t{user.timezone}\t{state}")


@crm_cli.command("demo")
def demo_command() -> None:
    """Load the February 2024 trade mission (running it again changes nothing)."""
    from crm.demo import load_demo

    with db.transaction() as session:
        report = load_demo(session)
    click.echo(report.summary())


@crm_cli.command("check")
def check_command() -> None:
    """Check that this installation is ready: database and schema, time-zone rules,
    broker, workers, beat, relay, mail server and settings.  Exit 1 if any part fails."""
    from crm.core.readiness import Level, run_checks

    findings = run_checks()
    for finding in findings:
        click.echo(finding.line())
    if any(f.level == Level.FAIL for f in findings):
        raise SystemExit(1)


@crm_cli.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from flask import current_app

    from crm.core.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("ok: database schema is up to date")


@crm_cli.command("backup")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The archive to write.")
def backup_command(output: Path) -> None:
    """Write the database and the instance files to one archive (see crm/system/backup.py)."""
    from flask import current_app

    from crm.documents.storage import documents_root
    from crm.system.backup import BackupError, backup

    try:
        manifest = backup(
            current_app.config["DATABASE_URL"], Path(current_app.instance_path), output, documents=documents_root()
        )
    except (BackupError, OSError) as exc:
        _fail(str(exc))
    rows = sum(manifest["tables"].values())
    click.echo(
        f"ok: {output}: {manifest['database']}, {len(manifest['tables'])} tables, {rows} rows, "
        f"last event {manifest['last_event_id']}, {len(manifest['instance_files'])} instance files"
    )


@crm_cli.command("restore")
@click.option("--input", "input_", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The archive.")
@click.option("--force", is_flag=True, help="Replace a database that holds data, and differing instance files.")
def restore_command(input_: Path, force: bool) -> None:
    """Restore an archive of ``crm backup`` into the database of DATABASE_URL and the
    instance folder, then check every table's count and the last event id."""
    from flask import current_app

    from crm.documents.storage import documents_root
    from crm.system.backup import BackupError, restore

    db.engine.dispose()  # no connection of this process may hold a table the restore replaces
    try:
        manifest = restore(
            current_app.config["DATABASE_URL"],
            Path(current_app.instance_path),
            input_,
            force=force,
            documents=documents_root(),
        )
    except (BackupError, OSError) as exc:
        _fail(str(exc))
    click.echo(
        f"ok: restored the backup of {manifest['created_at']}: {len(manifest['tables'])} tables and "
        f"last event {manifest['last_event_id']} match"
    )
