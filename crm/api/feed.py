"""The event feed: every event a user may see, oldest first, read on with a cursor.

A cursor is the id of the last event served.  Ids are handed out when an event is
inserted, not when its transaction commits, so on PostgreSQL an event with a lower id
can become visible after one with a higher id; a reader that moved past it would never
see it.  The feed therefore serves only *settled* events: those that occurred before
every transaction still writing began (``pg_stat_activity``), less a small margin for
clock skew and for an event built a moment before its transaction wrote anything.  An
event that commits late is then still ahead of the cursor when it appears.  SQLite lets
one transaction write at a time, from its first write to its commit, so there ids
follow commit order and every visible event is settled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.api.models import ApiToken
from crm.core.events import Event
from crm.core.time import utcnow
from crm.digests.models import Subscription
from crm.leads.models import Lead, SavedFilter
from crm.leads.queries import sees_lead_of

# Events about these rows concern everyone who uses the app (no lead, no account).
SHARED_ENTITIES = ("organisation", "contact", "mission", "meeting", "sector")
# ...but for these, which only administrators do and need to know of.
ADMIN_ONLY_TYPES = ("contact.data_exported",)


def settled_before(session: Session) -> datetime | None:
    """Events that occurred before this instant are all visible (``None``: all are)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    session.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # activity as of now, not as of BEGIN
    oldest_writer = session.execute(
        sa.text(
            "SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        )
    ).scalar()
    now = utcnow()
    horizon = min(oldest_writer, now) if oldest_writer is not None else now
    margin = float(current_app.config["API_EVENT_FEED_SETTLE_SECONDS"])
    return horizon - timedelta(seconds=margin)


def visible_events(user: User) -> Any:
    """A condition on ``Event``: what ``user`` may read in the feed.

    Admins read everything.  Others read the events of leads they may see (with their
    follow-ups and activities) and the deletion of those that are gone, of the shared
    reference rows, of the digest subscriptions
    they may open (officers and admins only, as on the web pages), and of their own
    account, tokens and saved filters."""
    if user.role == Role.ADMIN:
        return sa.true()
    lead_seen = sees_lead_of(user, col(Event.lead_id))
    shared = sa.and_(
        col(Event.lead_id).is_(None),
        col(Event.entity_type).in_(SHARED_ENTITIES),
        col(Event.type).not_in(ADMIN_ONLY_TYPES),
    )
    own = sa.or_(
        sa.and_(col(Event.entity_type) == User.__tablename__, col(Event.entity_id) == user.id),
        sa.and_(col(Event.entity_type) == SavedFilter.__tablename__, col(Event.actor_id) == user.id),
        sa.and_(
            col(Event.entity_type) == ApiToken.__tablename__,
            Event.payload["user_id"].as_integer() == user.id,  # type: ignore[index]
        ),
    )
    # A deleted lead's events go with it, but for the deletion itself: told to everyone
    # if the lead was open, to its owner if it was confidential.
    deletion_seen = sa.and_(
        col(Event.type) == "lead.deleted",
        # Looked up per event, as ``lead_seen``: an anti-join here hashed every lead.
        sa.select(sa.literal(1)).where(col(Lead.id) == col(Event.lead_id)).scalar_subquery().is_(None),
        sa.or_(
            Event.payload["confidential"].as_boolean().is_(False),  # type: ignore[index]
            Event.payload["owner_id"].as_integer() == user.id,  # type: ignore[index]
        ),
    )
    conditions = [sa.and_(col(Event.lead_id).is_not(None), lead_seen), deletion_seen, shared, own]
    if user.can_edit():
        conditions.append(
            sa.and_(
                col(Event.entity_type) == Subscription.__tablename__,
                sa.exists().where(
                    col(Subscription.id) == col(Event.entity_id),
                    sa.or_(col(Subscription.include_confidential).is_(False), col(Subscription.user_id) == user.id),
                ),
            )
        )
    return sa.or_(*conditions)


def read_feed(
    session: Session,
    user: User,
    *,
    after: int = 0,
    limit: int = 100,
    types: list[str] | None = None,
    lead_id: int | None = None,
) -> tuple[list[Event], int]:
    """Up to ``limit`` settled events after ``after`` that ``user`` may see, and the next cursor."""
    horizon = settled_before(session)  # first: an event must be settled before it is read
    query = select(Event).where(col(Event.id) > after, visible_events(user))
    if horizon is not None:
        query = query.where(col(Event.occurred_at) < horizon)
    if types:
        query = query.where(col(Event.type).in_(types))
    if lead_id is not None:
        query = query.where(col(Event.lead_id) == lead_id)
    events = list(session.exec(query.order_by(col(Event.id)).limit(limit)).all())
    return events, (events[-1].id or after) if events else after
