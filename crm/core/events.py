"""The event outbox: every change to domain rows records an :class:`Event` in the same
transaction.

The ``Event`` table is at once the outbox that workers consume, the audit trail and the
source of lead timelines and digests.  A guard on every session refuses to commit a
change to an audited row when the transaction records no event, so no write path can
bypass the spine by accident.
"""

from __future__ import annotations

import enum
import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from crm.core.db import UTCDateTime
from crm.core.requestid import current_request_id
from crm.core.time import utcnow

log = logging.getLogger(__name__)


class Audited:
    """Marker for domain tables whose changes must be recorded as events."""


class UnrecordedChange(RuntimeError):
    """A transaction changed audited rows without recording an event."""


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        sa.Index("ix_event_entity", "entity_type", "entity_id"),
        sa.Index("ix_event_unpublished", "published_at", "id"),
        # A lead's timeline, newest first, and the events of one lead.
        sa.Index("ix_event_lead_occurred", "lead_id", "occurred_at", "id"),
        # The stage moves of a period (dashboard, digests) and any events of given types.
        sa.Index("ix_event_type_occurred", "type", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True)
    entity_type: str = Field(max_length=32)
    entity_id: int | None = Field(default=None)
    lead_id: int | None = Field(default=None)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The web request (or task) that recorded it; its consumers work under the same id.
    request_id: str | None = Field(default=None, max_length=64)


def jsonable(value: Any) -> Any:
    """Make a payload value JSON-safe without losing its meaning."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def record_event(
    session: Session,
    type: str,
    entity: Any,
    *,
    actor: Any | None = None,
    lead_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Add an event about ``entity`` (flushed so the entity has its id) to the session."""
    if getattr(entity, "id", None) is None:
        session.flush()
    event = Event(
        type=type,
        payload=jsonable(payload or {}),
        actor_id=getattr(actor, "id", None),
        entity_type=entity.__tablename__,
        entity_id=entity.id,
        lead_id=lead_id,
        request_id=current_request_id(),
    )
    session.add(event)
    return event


def changes_of(obj: Any, fields: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply ``fields`` to ``obj``; return ``{field: [old, new]}`` for what really changed."""
    changed: dict[str, list[Any]] = {}
    for name, new in fields.items():
        old = getattr(obj, name)
        if old != new:
            changed[name] = [jsonable(old), jsonable(new)]
            setattr(obj, name, new)
    return changed


# --- the guard -------------------------------------------------------------------------

_AUDITED = "jisr_audited_changes"
_EVENTS = "jisr_events_recorded"


def _scan(session: Session) -> None:
    for obj in session.new:
        if isinstance(obj, Event):
            session.info[_EVENTS] = True
        elif isinstance(obj, Audited):
            session.info[_AUDITED] = True
    for obj in session.deleted:
        if isinstance(obj, Audited):
            session.info[_AUDITED] = True
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=True):
            session.info[_AUDITED] = True


@sa.event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    _scan(session)


@sa.event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _scan(session)
    if session.info.get(_AUDITED) and not session.info.get(_EVENTS):
        session.info.pop(_AUDITED, None)
        raise UnrecordedChange(
            "this transaction changes domain rows but records no event; write through an operations function"
        )


_KICKS = "jisr_kick_after_commit"


def kick_after_commit(session: Session, task: str) -> None:
    """Kick the periodic ``task`` once this transaction commits (never if it rolls back):
    what it will work on is visible to the worker only then."""
    session.info.setdefault(_KICKS, set()).add(task)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    recorded = session.info.pop(_EVENTS, None)
    session.info.pop(_AUDITED, None)
    if recorded:
        kick_relay()
    for task in sorted(session.info.pop(_KICKS, ())):
        kick(task)


@sa.event.listens_for(Session, "after_rollback")
def _reset(session: Session) -> None:
    session.info.pop(_AUDITED, None)
    session.info.pop(_EVENTS, None)
    session.info.pop(_KICKS, None)


def kick(task: str) -> None:
    """Ask a worker to run a periodic ``task`` right away rather than at its next beat (which
    runs it anyway, so a failure here loses nothing: the broker may be down)."""
    from flask import current_app, has_app_context

    if not has_app_context() or not current_app.config.get("RELAY_KICK"):
        return
    celery = current_app.extensions.get("celery")
    if celery is None:
        return
    try:
        celery.send_task(task, retry=False, ignore_result=True)
    except Exception:
        log.warning("could not kick %s", task, exc_info=True)


def kick_relay() -> None:
    """Publish right away, so an event reaches its consumers in about a second."""
    kick("crm.events.relay")
