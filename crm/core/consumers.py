"""Event consumers: handlers that react to events, each exactly once.

A consumer is registered for some event types.  The relay publishes one Celery task per
(event, consumer); the task runs the handler and records ``(event_id, consumer)`` in
:class:`ConsumedEvent` in the same transaction as the handler's side effect, so a
redelivered task finds the record and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from crm.core.db import UTCDateTime
from crm.core.events import Event
from crm.core.requestid import working_for
from crm.core.time import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Session, Event], None]


class ConsumedEvent(SQLModel, table=True):
    __tablename__ = "consumed_event"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    consumer: str = Field(primary_key=True, max_length=64)
    consumed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Consumer:
    name: str
    event_types: frozenset[str]
    handler: Handler

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types or "*" in self.event_types


_REGISTRY: dict[str, Consumer] = {}


def consumer(name: str, *event_types: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as consumer ``name`` of ``event_types`` (``"*"`` for all)."""

    def register(handler: Handler) -> Handler:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.handler is not handler:
            raise RuntimeError(f"consumer {name!r} registered twice")
        _REGISTRY[name] = Consumer(name, frozenset(event_types), handler)
        return handler

    return register


def load_consumers() -> dict[str, Consumer]:
    """The registry.  The plumbing knows no feature: each feature registers its consumers
    when its module is imported, which ``crm.features.register_features`` does for the
    application factory."""
    if not _REGISTRY:
        raise RuntimeError("no event consumer is registered: create the app first")
    return _REGISTRY


def consumers_for(event_type: str) -> list[str]:
    return sorted(name for name, c in load_consumers().items() if c.wants(event_type))


def consume(session: Session, event_id: int, name: str) -> bool:
    """Run consumer ``name`` on event ``event_id`` once; commit.  False if already done."""
    registered = load_consumers().get(name)
    if registered is None:
        log.error("unknown consumer %s for event %s", name, event_id)
        return False
    if session.get(ConsumedEvent, (event_id, name)) is not None:
        return False
    event = session.get(Event, event_id)
    if event is None:
        log.warning("event %s is gone; consumer %s skips it", event_id, name)
        return False
    # The work is the request's that recorded the event: its log lines, the mail it queues
    # and the tasks kicked when it commits carry the request's id.
    with working_for(event.request_id, event.actor_id):
        registered.handler(session, event)
        session.add(ConsumedEvent(event_id=event_id, consumer=name))
        try:
            session.commit()
        except IntegrityError:
            # Another worker consumed the same event at the same moment: its effect stands.
            session.rollback()
            return False
    return True
