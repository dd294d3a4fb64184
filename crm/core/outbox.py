"""The relay: publishes unpublished events to the workers and marks them published.

Claiming: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two relays never publish the same
event; on SQLite the transaction opens with a write (the relay's lock row), which holds
the database's single write lock until commit.  The relay selects by "not yet published",
not by an id high-water mark: a transaction that commits late with a lower id is picked
up by the next run.  Publishing happens before the commit; if the commit fails the events
are published again, which consumers shrug off (they are idempotent).

Broker loss (a Redis restart without persistence) is repaired by :func:`republish_unconsumed`,
which publishes again the deliveries that no consumer recorded after a grace period.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.core.consumers import ConsumedEvent, consumers_for, load_consumers
from crm.core.db import serialise_writers
from crm.core.events import Event
from crm.core.time import utcnow

Publish = Callable[[list[int], str], None]  # (event ids, consumer name): one message per batch


def publish_pending(session: Session, publish: Publish, *, batch: int = 500) -> int:
    """Publish up to ``batch`` unpublished events, oldest first; return how many."""
    session.rollback()  # a fresh transaction: the lock must be its first statement
    serialise_writers(session, "relay")
    query = select(Event.id, Event.type).where(col(Event.published_at).is_(None)).order_by(col(Event.id)).limit(batch)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.exec(query).all()
    if not rows:
        session.commit()
        return 0
    batches: dict[str, list[int]] = {}
    for event_id, event_type in rows:
        assert event_id is not None
        for name in consumers_for(event_type):
            batches.setdefault(name, []).append(event_id)
    for name, event_ids in sorted(batches.items()):
        publish(event_ids, name)
    ids = [event_id for event_id, _ in rows]
    session.execute(sa.update(Event).where(col(Event.id).in_(ids)).values(published_at=utcnow()))
    session.commit()
    return len(ids)


def oldest_unpublished(session: Session) -> datetime | None:
    return session.exec(select(sa.func.min(Event.occurred_at)).where(col(Event.published_at).is_(None))).one()


def republish_unconsumed(
    session: Session,
    publish: Publish,
    *,
    older_than: timedelta,
    window: timedelta = timedelta(days=2),
    limit: int = 2000,
) -> int:
    """Publish again deliveries that no consumer recorded ``older_than`` after publication."""
    now = utcnow()
    sent = 0
    for name, registered in sorted(load_consumers().items()):
        consumed = sa.exists().where(col(ConsumedEvent.event_id) == col(Event.id), col(ConsumedEvent.consumer) == name)
        query = (
            select(Event.id)
            .where(col(Event.published_at) < now - older_than, col(Event.published_at) > now - window)
            .where(~consumed)
            .order_by(col(Event.id))
            .limit(limit)
        )
        if "*" not in registered.event_types:
            query = query.where(col(Event.type).in_(sorted(registered.event_types)))
        event_ids = [int(event_id) for event_id in session.exec(query).all() if event_id is not None]
        for start in range(0, len(event_ids), 500):
            publish(event_ids[start : start + 500], name)
        sent += len(event_ids)
    session.rollback()
    return sent
