"""Read a user's feed: the events others recorded lately on the leads they own or watch.

The entries are read newest first from the user's index, a batch at a time, and each is
checked against the rule as it stands now (the viewer owns or watches the lead, may see
it, did not do it, and it is recent): an entry written before a watcher was removed, by
a transaction that committed alongside, is skipped.  The next batch is read only when
one was skipped, so the cost is that of ``limit`` entries, whatever the number of
events or leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from crm.accounts.models import User
from crm.core.events import Event
from crm.feed.models import FeedEntry
from crm.leads.models import Lead, LeadWatcher
from crm.leads.queries import visible_to


def wanted(viewer: User, since: datetime) -> Any:
    """The rule of Today's recent changes, on ``Event`` and ``Lead``."""
    watched = select(LeadWatcher.lead_id).where(LeadWatcher.user_id == viewer.id)
    return sa.and_(
        col(Lead.id).is_not(None),
        or_(col(Lead.owner_id) == viewer.id, col(Lead.id).in_(watched)),
        visible_to(viewer),
        or_(col(Event.actor_id).is_(None), col(Event.actor_id) != viewer.id),
        col(Event.occurred_at) >= since,
    )


def recent_events(session: Session, viewer: User, *, since: datetime, limit: int) -> list[tuple[Event, Lead]]:
    """The events (with their leads) others recorded since ``since`` on the leads the
    viewer owns or watches and may see, newest first, at most ``limit``."""
    found: list[tuple[Event, Lead]] = []
    batch = max(2 * limit, 10)
    after: tuple[datetime, int] | None = None
    while len(found) < limit:
        page = select(FeedEntry.event_id, FeedEntry.occurred_at).where(
            FeedEntry.user_id == viewer.id, col(FeedEntry.occurred_at) >= since
        )
        if after is not None:
            at, event_id = after
            page = page.where(
                or_(
                    col(FeedEntry.occurred_at) < at,
                    sa.and_(col(FeedEntry.occurred_at) == at, col(FeedEntry.event_id) < event_id),
                )
            )
        entries = page.order_by(col(FeedEntry.occurred_at).desc(), col(FeedEntry.event_id).desc()).limit(batch)
        entry = entries.subquery("entry")
        rows = session.exec(
            select(entry.c.event_id, entry.c.occurred_at, wanted(viewer, since), Event, Lead)  # type: ignore[call-overload]
            .outerjoin(Event, col(Event.id) == entry.c.event_id)
            .outerjoin(Lead, col(Lead.id) == col(Event.lead_id))
            .order_by(entry.c.occurred_at.desc(), entry.c.event_id.desc())
        ).all()
        found.extend((event, lead) for _id, _at, ok, event, lead in rows if ok)
        if len(rows) < batch:
            break
        after = (rows[-1][1], rows[-1][0])
    return found[:limit]
