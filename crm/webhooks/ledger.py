"""The webhook delivery ledger: one row per (endpoint, event), sent with a lease.

Like the mail ledger (:mod:`crm.core.ledger`): the consumer writes the rows in the
transaction that records the event as consumed, so an event reaches each endpoint once;
a sender claims a due row (pending or retry) with a lease, posts it, and records the
attempt; a sweeper puts rows whose sender died back in the queue.  The only duplicate
possible is a sender dying between the receiver's answer and the commit, and then the
receiver sees the same ``Jisr-Delivery`` id again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from crm.core.db import pk
from crm.core.events import Event
from crm.core.ledger import backoff
from crm.core.time import utcnow
from crm.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointHealth,
)

WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRY)
FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


def event_body(event: Event) -> str:
    """The JSON a receiver gets: the event as the event log holds it."""
    occurred = event.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    document = {
        "id": event.id,
        "type": event.type,
        "occurred_at": occurred,
        "actor_id": event.actor_id,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "lead_id": event.lead_id,
        "payload": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def write_deliveries(session: Session, event: Event, endpoints: Iterable[WebhookEndpoint]) -> int:
    """One pending row per endpoint for ``event``, unless it exists; how many were new."""
    body = event_body(event)
    now = utcnow()
    rows = [
        {
            "public_id": str(uuid.uuid4()),
            "endpoint_id": pk(endpoint),
            "event_id": event.id,
            "event_type": event.type,
            "body": body,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "attempts_before_redelivery": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint in endpoints
    ]
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(WebhookDelivery).values(rows).on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
    # RETURNING, not rowcount: psycopg counts an ORM insert skipped by ON CONFLICT as written.
    return len(session.execute(statement.returning(col(WebhookDelivery.id))).all())


def claim(session: Session, delivery_id: int, *, now: datetime, lease: timedelta) -> WebhookDelivery | None:
    """Take a due row for sending unless someone holds it; commit the claim."""
    result = session.execute(
        sa.update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.status).in_(WAITING),
            col(WebhookDelivery.next_attempt_at) <= now,
        )
        .values(status=DeliveryStatus.SENDING, lease_until=now + lease, attempts=WebhookDelivery.attempts + 1)
    )
    session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.get(WebhookDelivery, delivery_id, populate_existing=True)


@dataclass(frozen=True)
class Result:
    """What one attempt produced: an HTTP status, or an error without one."""

    status_code: int | None = None
    excerpt: str = ""
    duration_ms: int | None = None
    error: str | None = None
    retry_after: float | None = None
    retryable: bool = True  # for errors without a status (refused addresses are not)


def verdict(result: Result) -> DeliveryStatus:
    """2xx delivered; 408, 429 and 5xx retried; any other status (redirects included, as
    they are not followed) failed at once: the receiver refused the request and would
    refuse it again.  Errors without an answer (timeouts, connection, TLS) are retried,
    except a refused address."""
    code = result.status_code
    if code is None:
        return DeliveryStatus.RETRY if result.retryable else DeliveryStatus.FAILED
    if 200 <= code < 300:
        return DeliveryStatus.DELIVERED
    if code in (408, 429) or 500 <= code < 600:
        return DeliveryStatus.RETRY
    return DeliveryStatus.FAILED


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    retry_in: timedelta | None = None
    health: WebhookEndpointHealth | None = None


def record_attempt(
    session: Session,
    delivery: WebhookDelivery,
    result: Result,
    *,
    now: datetime,
    base: float,
    cap: float,
    max_attempts: int,
) -> Outcome:
    """Log the attempt, move the row on and update the endpoint's health (not committed)."""
    status = verdict(result)
    round_attempts = delivery.attempts - delivery.attempts_before_redelivery
    if status == DeliveryStatus.RETRY and round_attempts >= max_attempts:
        status = DeliveryStatus.FAILED
    session.add(
        WebhookAttempt(
            delivery_id=pk(delivery),
            number=delivery.attempts,
            started_at=now,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            response_excerpt=result.excerpt[:500],
            error=result.error[:500] if result.error else None,
            outcome=status,
        )
    )
    delivery.lease_until = None
    delivery.last_status_code = result.status_code
    delivery.last_duration_ms = result.duration_ms
    delivery.last_error = result.error
    retry_in: timedelta | None = None
    if status == DeliveryStatus.RETRY:
        retry_in = backoff(round_attempts, base, cap)
        if result.retry_after:
            retry_in = max(retry_in, timedelta(seconds=min(result.retry_after, cap)))
        delivery.status = DeliveryStatus.RETRY
        delivery.next_attempt_at = now + retry_in
    else:
        delivery.status = status
        delivery.finished_at = now
    health = _update_health(session, delivery.endpoint_id, status, now)
    return Outcome(status, retry_in, health)


def _update_health(session: Session, endpoint_id: int, status: DeliveryStatus, now: datetime) -> WebhookEndpointHealth:
    health = session.get(
        WebhookEndpointHealth,
        endpoint_id,
        populate_existing=True,
        with_for_update=session.get_bind().dialect.name == "postgresql",
    )
    if health is None:
        health = WebhookEndpointHealth(endpoint_id=endpoint_id)
        session.add(health)
    if status == DeliveryStatus.DELIVERED:
        health.consecutive_failures = 0
        health.failing_since = None
        health.last_success_at = now
    else:
        health.failing_since = health.failing_since or now
        health.last_failure_at = now
        if status == DeliveryStatus.FAILED:
            health.consecutive_failures = (health.consecutive_failures or 0) + 1
    return health


def abandon(session: Session, delivery: WebhookDelivery, reason: str, *, now: datetime) -> None:
    """A claimed row that will not be sent (its endpoint was disabled): no attempt counted."""
    delivery.status = DeliveryStatus.FAILED
    delivery.attempts = max(0, delivery.attempts - 1)
    delivery.lease_until = None
    delivery.finished_at = now
    delivery.last_error = reason


def fail_waiting(session: Session, endpoint_id: int, reason: str) -> int:
    """Rows of a disabled endpoint that wait for a (re)try are given up."""
    now = utcnow()
    result = session.execute(
        sa.update(WebhookDelivery)
        .where(col(WebhookDelivery.endpoint_id) == endpoint_id, col(WebhookDelivery.status).in_(WAITING))
        .values(status=DeliveryStatus.FAILED, finished_at=now, last_error=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reset_failed(session: Session, endpoint_id: int, delivery_ids: list[int] | None = None) -> list[int]:
    """Failed rows go back to the queue with a fresh retry budget (their log is kept)."""
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.FAILED
    )
    if delivery_ids is not None:
        query = query.where(col(WebhookDelivery.id).in_(delivery_ids))
    ids = [int(i) for i in session.exec(query).all() if i is not None]
    if ids:
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id).in_(ids))
            .values(
                status=DeliveryStatus.PENDING,
                attempts_before_redelivery=WebhookDelivery.attempts,
                next_attempt_at=utcnow(),
                enqueued_at=None,
                finished_at=None,
            )
        )
    return ids


def requeue_expired_leases(session: Session, *, max_attempts: int, now: datetime | None = None) -> int:
    """Rows left 'sending' by a sender that died go back to the queue, with a line in
    their log (the receiver may or may not have had that attempt); commit."""
    now = now or utcnow()
    query = select(WebhookDelivery).where(
        WebhookDelivery.status == DeliveryStatus.SENDING, col(WebhookDelivery.lease_until) < now
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    stuck = list(session.exec(query).all())
    for delivery in stuck:
        exhausted = delivery.attempts - delivery.attempts_before_redelivery >= max_attempts
        status = DeliveryStatus.FAILED if exhausted else DeliveryStatus.RETRY
        session.add(
            WebhookAttempt(
                delivery_id=pk(delivery),
                number=delivery.attempts,
                started_at=delivery.lease_until or now,
                error="lease expired: the sender stopped before recording an answer",
                outcome=status,
            )
        )
        delivery.status = status
        delivery.lease_until = None
        delivery.next_attempt_at = now
        delivery.last_error = "lease expired"
        if exhausted:
            delivery.finished_at = now
    session.commit()
    return len(stuck)


def due_delivery_ids(session: Session, *, stale_after: timedelta, limit: int = 1000) -> list[int]:
    """Rows ready to send whose task was never enqueued or long ago; marks them; commit."""
    now = utcnow()
    query = (
        select(WebhookDelivery.id)
        .where(
            col(WebhookDelivery.status).in_(WAITING),
            col(WebhookDelivery.next_attempt_at) <= now,
            sa.or_(col(WebhookDelivery.enqueued_at).is_(None), col(WebhookDelivery.enqueued_at) < now - stale_after),
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [int(i) for i in session.exec(query).all() if i is not None]
    if ids:
        session.execute(sa.update(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)).values(enqueued_at=now))
    session.commit()
    return ids


def purge_finished(session: Session, *, older_than: timedelta) -> int:
    """Delivered and failed rows (and their attempts) older than the log keeps; commit."""
    cutoff = utcnow() - older_than
    old = select(WebhookDelivery.id).where(
        col(WebhookDelivery.status).in_(FINISHED), col(WebhookDelivery.finished_at) < cutoff
    )
    session.execute(sa.delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(old.scalar_subquery())))
    result = session.execute(sa.delete(WebhookDelivery).where(col(WebhookDelivery.id).in_(old.scalar_subquery())))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def counts_by_endpoint(session: Session) -> dict[int, dict[str, int]]:
    """``{endpoint_id: {status: n}}`` for every endpoint, in one query."""
    rows = session.exec(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            col(WebhookDelivery.endpoint_id), col(WebhookDelivery.status)
        )
    ).all()
    found: dict[int, dict[str, int]] = {}
    for endpoint_id, status, n in rows:
        found.setdefault(int(endpoint_id), {})[str(getattr(status, "value", status))] = int(n)
    return found


def attempts_of(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    if not delivery_ids:
        return {}
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    rows = session.exec(
        select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(delivery_ids)).order_by(col(WebhookAttempt.id))
    ).all()
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found
