"""Digest scheduling: which subscriptions are due, and compiling + queueing one digest.

A subscription is due when the send time of its latest finished period has passed on its
own wall clock and no :class:`DigestRun` exists for that period.  The run row (unique per
subscription and period) is the archive and the dedupe: two beats, a beat run twice or a
"send now" racing the scheduler write it once, and the mail-ledger key
``digest:{subscription}:{period}`` makes the email itself unique too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.db import serialise_writers
from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.core.ledger import queue_mail
from crm.core.time import utcnow
from crm.digests.compile import Digest, compile_digest
from crm.digests.facts import DigestFacts
from crm.digests.models import DigestRun, Subscription
from crm.digests.periods import Period, latest_due_period
from crm.digests.render import DigestEmail, chart_attachment, list_headers, render_digest, unsubscribe_url

CHUNK = 200  # subscriptions per task: the period's shared facts are read once per chunk


def mail_key(subscription_id: int, period: str) -> str:
    return f"digest:{subscription_id}:{period}"


def due_period(subscription: Any, now: datetime) -> Period:
    return latest_due_period(
        now, subscription.cadence, subscription.timezone, subscription.weekday, subscription.send_hour
    )


def due_subscription_ids(session: Session, now: datetime | None = None) -> list[int]:
    """Active subscriptions (of active users, or of people without an account) whose latest
    period is due and has no digest yet (two queries).

    A period that fell due before the subscription existed is not sent: a new subscriber
    gets the next digest, not last week's.  The ids come grouped by period, filters and
    reader, so that subscriptions that read the same digest fall into the same chunk,
    where it is compiled once."""
    now = now or utcnow()
    rows = session.execute(
        sa.select(
            col(Subscription.id),
            col(Subscription.cadence),
            col(Subscription.timezone),
            col(Subscription.weekday),
            col(Subscription.send_hour),
            col(Subscription.created_at),
            col(Subscription.resumed_at),
            col(Subscription.user_id),
            col(Subscription.include_confidential),
            col(Subscription.filters),
        )
        .outerjoin(User, col(User.id) == col(Subscription.user_id))
        # A user who has left (deactivated) gets no more digests; external readers have no account.
        .where(col(Subscription.is_active).is_(True), sa.or_(col(User.id).is_(None), col(User.is_active).is_(True)))
        .order_by(col(Subscription.id))
    ).all()
    wanted: dict[int, str] = {}
    order: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        period = due_period(row, now)
        if period.due_at >= max(row.created_at, row.resumed_at or row.created_at):
            wanted[int(row.id)] = period.key
            filters = json.dumps(row.filters or {}, sort_keys=True, default=str)
            order[int(row.id)] = (period.start, period.end, filters, row.user_id or 0, row.include_confidential)
    if not wanted:
        return []
    done = set(
        session.execute(
            select(DigestRun.subscription_id, DigestRun.period).where(col(DigestRun.period).in_(set(wanted.values())))
        ).all()
    )
    due = [sid for sid, key in wanted.items() if (sid, key) not in done]
    return sorted(due, key=lambda sid: (order[sid], sid))


def _claim_run(session: Session, values: dict[str, Any]) -> bool:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(DigestRun).values(**values).on_conflict_do_nothing(index_elements=["subscription_id", "period"])
    # RETURNING, not rowcount: psycopg counts an ORM insert skipped by ON CONFLICT as written.
    return session.execute(statement.returning(col(DigestRun.id))).first() is not None


@dataclass(frozen=True)
class PreparedDigest:
    """A compiled (and, unless empty, rendered) digest, not yet archived nor queued."""

    subscription: Subscription
    period: Period
    digest: Digest
    rendered: DigestEmail | None  # None: empty, archived but not sent


def prepare_digest(
    session: Session,
    subscription: Subscription,
    period: Period,
    *,
    force: bool = False,
    facts: DigestFacts | None = None,
    now: datetime | None = None,
) -> PreparedDigest:
    """Compile and render (reads only) for sending at ``now``.  ``force`` renders even an
    empty digest (an officer's "send now"); ``facts`` are shared by the digests of one chunk."""
    digest = compile_digest(session, subscription, period, facts=facts, now=now)
    empty = digest.is_empty and not (subscription.send_when_empty or force)
    return PreparedDigest(subscription, period, digest, None if empty else render_digest(digest, subscription))


def store_digest(session: Session, prepared: PreparedDigest) -> str:
    """Archive a prepared digest and queue its email; the caller commits.  Returns "queued",
    "empty" (nothing to tell: archived, not sent) or "exists" (another run got there first)."""
    subscription, period, rendered = prepared.subscription, prepared.period, prepared.rendered
    key = mail_key(int(subscription.id or 0), period.key)
    values = {
        "subscription_id": subscription.id,
        "period": period.key,
        "period_start": period.start,
        "period_end": period.end,
        "language": subscription.language.value,
        "status": "queued" if rendered else "empty",
        "mail_key": key if rendered else None,
        "subject": rendered.email.subject if rendered else "",
        "text_body": rendered.email.text if rendered else "",
        "html_body": rendered.email.html if rendered else "",
        "figures": prepared.digest.summary(),
        "created_at": utcnow(),
    }
    if not _claim_run(session, values):
        return "exists"
    if rendered is None:
        return "empty"
    queue_mail(
        session,
        dedupe_key=key,
        kind="digest",
        to=subscription.email,
        to_name=subscription.name,
        language=subscription.language.value,
        subject=rendered.email.subject,
        text=rendered.email.text,
        html=rendered.email.html,
        attachments=[rendered.chart],
        headers=rendered.headers,
        user_id=subscription.user_id,
    )
    return "queued"


def send_digest(
    session: Session,
    subscription: Subscription,
    period: Period,
    *,
    force: bool = False,
    facts: DigestFacts | None = None,
    now: datetime | None = None,
) -> str:
    """Compile, archive and queue one digest; the caller commits (see :func:`store_digest`)."""
    return store_digest(session, prepare_digest(session, subscription, period, force=force, facts=facts, now=now))


def send_digest_now(session: Session, subscription: Subscription, period: Period, *, again: bool = False) -> str:
    """An officer's "send now" of a finished period; the caller commits.

    Not yet sent: exactly what the scheduler would send, under the same key, so neither a
    double click nor the scheduler sends it twice ("queued").  Already sent: nothing
    ("already_sent"), unless ``again``: then the archived copy, under
    ``digest:{id}:{period}:manual:{minute}``, so a double click still sends one ("resent")."""
    if period.end > utcnow():
        raise ValidationError.single("period", _l("This period is not over yet."))
    run = session.exec(
        select(DigestRun).where(DigestRun.subscription_id == subscription.id, DigestRun.period == period.key)
    ).first()
    if run is None or run.status == "empty":
        if run is not None:
            session.delete(run)
            session.flush()
        return "queued" if send_digest(session, subscription, period, force=True) == "queued" else "already_sent"
    if not again:
        return "already_sent"
    subscription_id = int(subscription.id or 0)
    queue_mail(
        session,
        dedupe_key=f"{mail_key(subscription_id, period.key)}:manual:{utcnow():%Y%m%dT%H%M}",
        kind="digest",
        to=subscription.email,
        to_name=subscription.name,
        language=run.language,
        subject=run.subject,
        text=run.text_body,
        html=run.html_body,
        attachments=[chart_attachment(run.figures.get("pipeline", {}), run.language)],
        headers=list_headers(unsubscribe_url(subscription_id)),
        user_id=subscription.user_id,
    )
    return "resent"


def dispatch_chunk(session: Session, subscription_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Compile and queue the due digests of these subscriptions, one transaction each."""
    now = now or utcnow()
    results: dict[str, int] = {}
    session.rollback()
    subscriptions = session.exec(
        select(Subscription).where(col(Subscription.id).in_(subscription_ids), col(Subscription.is_active).is_(True))
    ).all()
    facts = DigestFacts(session)
    position = {sid: n for n, sid in enumerate(subscription_ids)}
    for subscription in sorted(subscriptions, key=lambda s: position[int(s.id or 0)]):
        prepared = prepare_digest(session, subscription, due_period(subscription, now), facts=facts, now=now)
        # Compiling only reads: end that transaction, and take SQLite's single write lock
        # just for the two inserts, so that workers compile side by side.
        session.commit()
        serialise_writers(session, "digests")
        outcome = store_digest(session, prepared)
        session.commit()
        results[outcome] = results.get(outcome, 0) + 1
    return results


def chunks(ids: list[int], size: int = CHUNK) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
