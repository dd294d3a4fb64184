"""``crm check``: is this installation ready to serve?  One line per part (database,
schema, time-zone rules, broker, workers, beat, relay, mail server, settings), each
``ok``, ``warn`` (works, but something will go wrong for users) or ``fail`` (broken).

Nothing here writes: the mail server is greeted and logged into, never sent a message.
"""

from __future__ import annotations

import enum
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from crm.config import MailSettings
from crm.core.db import db
from crm.core.mail import tls_context
from crm.core.migrate import alembic_config
from crm.core.outbox import oldest_unpublished
from crm.core.state import get_state
from crm.core.time import check_tzdata, utcnow

TIMEOUT = 5.0
BEAT_LATE = timedelta(minutes=2)  # beat ticks every 30 s
RELAY_LATE = timedelta(minutes=1)  # the relay runs every 5 s


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    part: str
    level: Level
    detail: str

    def line(self) -> str:
        return f"{self.level.value:<4}  {self.part:<9} {self.detail}"


def _database() -> Finding:
    db.session.execute(sa.text("SELECT 1"))
    return Finding("database", Level.OK, f"{db.engine.dialect.name} answers")


def _schema() -> Finding:
    script = ScriptDirectory.from_config(alembic_config(current_app.config["DATABASE_URL"]))
    heads = set(script.get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return Finding("schema", Level.OK, f"at {', '.join(sorted(heads))}")
    return Finding(
        "schema",
        Level.FAIL,
        f"at {', '.join(sorted(current)) or 'nothing'}, code expects {', '.join(sorted(heads))}: "
        "run `flask --app wsgi crm migrate`",
    )


def _tzdata() -> Finding:
    check_tzdata()
    return Finding("time zone", Level.OK, "Africa/Casablanca on UTC+0 since 2026-09-20")


def _broker() -> Finding:
    celery = current_app.extensions["celery"]
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=TIMEOUT)
        transport = conn.transport_cls
    return Finding("broker", Level.OK, f"{transport} answers")


def _workers() -> Finding:
    if not current_app.config.get("REDIS_URL"):
        return Finding("workers", Level.OK, "embedded broker: workers are seen through beat and the relay below")
    answers = current_app.extensions["celery"].control.inspect(timeout=2).ping() or {}
    if not answers:
        return Finding("workers", Level.WARN, "no Celery worker answered: reminders, digests and mail wait")
    return Finding("workers", Level.OK, f"{len(answers)} answered: {', '.join(sorted(answers))}")


def _beat() -> Finding:
    tick = get_state(db.session, "beat.last_tick")
    if tick is None:
        return Finding("beat", Level.WARN, "has never ticked: start `celery -A workers.celery_app beat`")
    age = utcnow() - tick.updated_at
    if age > BEAT_LATE:
        return Finding("beat", Level.WARN, f"last tick {int(age.total_seconds())} s ago: is beat running?")
    return Finding("beat", Level.OK, f"last tick {int(age.total_seconds())} s ago")


def _relay() -> Finding:
    oldest = oldest_unpublished(db.session)
    if oldest is not None and utcnow() - oldest > RELAY_LATE:
        late = int((utcnow() - oldest).total_seconds())
        return Finding("relay", Level.WARN, f"an event has waited {late} s to be published: are beat and workers up?")
    return Finding("relay", Level.OK, "no event waiting")


def _mail() -> Finding:
    settings: MailSettings = current_app.config["MAIL"]
    if settings.is_local:
        outbox = os.path.join(current_app.instance_path, "outbox")
        return Finding("mail", Level.WARN, f"no MAIL_URL: messages are kept in {outbox}, not sent")
    server = f"{settings.scheme}://{settings.host}:{settings.port}"
    smtp: smtplib.SMTP
    try:
        if settings.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=TIMEOUT, context=tls_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT)
        with smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            code, _ = smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Finding("mail", Level.FAIL, f"{server}: {exc}")
    login = ", login accepted" if settings.username else ""
    return Finding("mail", Level.OK, f"{server} answers ({code}{login})")


def _settings() -> Finding:
    config = current_app.config
    problems = []
    if not config["DATABASE_URL"].startswith("sqlite"):
        if "SECRET_KEY" not in os.environ:
            problems.append("SECRET_KEY is not set: each machine generates its own and sessions break between them")
        if config["BASE_URL"].startswith(("http://127.", "http://localhost")):
            problems.append(f"BASE_URL is {config['BASE_URL']}: links in emails lead nowhere for their readers")
    if problems:
        return Finding("settings", Level.WARN, "; ".join(problems))
    return Finding("settings", Level.OK, f"links in emails point to {config['BASE_URL']}")


CHECKS: tuple[tuple[str, Callable[[], Finding]], ...] = (
    ("database", _database),
    ("schema", _schema),
    ("time zone", _tzdata),
    ("broker", _broker),
    ("workers", _workers),
    ("beat", _beat),
    ("relay", _relay),
    ("mail", _mail),
    ("settings", _settings),
)
# A part that cannot be checked while another one fails.
NEEDS = {"schema": "database", "beat": "schema", "relay": "schema"}


def run_checks() -> list[Finding]:
    """Every check, each on its own: one that raises is a failure with the reason, and
    one whose prerequisite failed is not run."""
    findings: list[Finding] = []
    failed: set[str] = set()
    for part, check in CHECKS:
        needed = NEEDS.get(part)
        if needed in failed:
            findings.append(Finding(part, Level.FAIL, f"not checked: the {needed} is not ready"))
            failed.add(part)
            continue
        try:
            findings.append(check())
        except Exception as exc:
            db.session.rollback()
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            findings.append(Finding(part, Level.FAIL, reason))
        if findings[-1].level == Level.FAIL:
            failed.add(part)
    db.session.rollback()
    return findings
