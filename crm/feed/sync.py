"""Bring the feed of some leads in line with the leads as they are now.

For each lead, every user who owns or watches it now gets an entry for each of the
lead's events of the kept window (:data:`~crm.feed.models.KEPT_DAYS`) that another user
(or nobody) recorded, and the entries of users who neither own nor watch it any more
go.  That covers a new event (its entries are added), a new owner or watcher (their
entries for the lead's recent events are added: one lead's, a bounded number), a
watcher removed and a lead deleted.  It never trusts an event's payload, only the
rows: running it twice, late, or for a lead already deleted leaves the feed right.

Two transactions syncing the same lead take a per-lead advisory lock first on
PostgreSQL, so the later one reads what the earlier one committed (a watcher added by
one while the other records an event on the lead: the second sees both).  SQLite has
one writer at a time.  A sync of many leads at once (an import, a leaver's leads handed
over) takes no lock: a lock per lead would fill the server's lock table, and its leads
are new or changed by it alone; the consumer's later sync of each lead repairs what a
transaction alongside could have left."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm.core.events import Event
from crm.core.time import utcnow
from crm.feed.models import KEPT_DAYS, FeedEntry
from crm.leads.models import Lead, LeadWatcher

# The first key of the two-key advisory locks (the second is the lead's id).
LOCK_SPACE = 7_311_018
LOCKED_AT_MOST = 64  # leads; a larger sync takes no lock
CHUNK = 500

_entry: sa.Table = FeedEntry.__table__  # type: ignore[attr-defined]
_event: sa.Table = Event.__table__  # type: ignore[attr-defined]
_lead: sa.Table = Lead.__table__  # type: ignore[attr-defined]
_watcher: sa.Table = LeadWatcher.__table__  # type: ignore[attr-defined]


def kept_since(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=KEPT_DAYS)


def upsert(dialect: str) -> Any:
    """The dialect's ``INSERT`` that knows ``ON CONFLICT``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(_entry)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(_entry)


def members(lead_ids: Any = None) -> sa.Subquery:
    """``(lead_id, user_id)``: the owner and the watchers of each lead (of ``lead_ids``, a
    list or a subquery, or of every lead)."""
    owners = sa.select(_lead.c.id.label("lead_id"), _lead.c.owner_id.label("user_id"))
    watchers = sa.select(_watcher.c.lead_id, _watcher.c.user_id)
    if lead_ids is not None:
        owners = owners.where(_lead.c.id.in_(lead_ids))
        watchers = watchers.where(_watcher.c.lead_id.in_(lead_ids))
    return sa.union(owners, watchers).subquery("member")


def entries(since: datetime, lead_ids: Any = None) -> sa.Select[Any]:
    """The entries the feed should hold for these leads' events since ``since``."""
    member = members(lead_ids)
    query = (
        sa.select(_event.c.id, member.c.user_id, _event.c.lead_id, _event.c.occurred_at)
        .join(member, member.c.lead_id == _event.c.lead_id)
        .where(
            _event.c.occurred_at >= since,
            sa.or_(_event.c.actor_id.is_(None), _event.c.actor_id != member.c.user_id),
        )
    )
    if lead_ids is not None:
        query = query.where(_event.c.lead_id.in_(lead_ids))
    return query


def insert_entries(dialect: str, query: sa.Select[Any]) -> Any:
    """``INSERT … SELECT`` of ``query``'s entries; one already there keeps its row, its
    instant set again if its event's changed (the demo dates its events back)."""
    insert = upsert(dialect).from_select(["event_id", "user_id", "lead_id", "occurred_at"], query)
    return insert.on_conflict_do_update(
        index_elements=["event_id", "user_id"],
        set_={"occurred_at": insert.excluded.occurred_at},
        where=_entry.c.occurred_at != insert.excluded.occurred_at,
    )


def _lock(session: Session, lead_ids: list[int]) -> None:
    if session.get_bind().dialect.name != "postgresql" or len(lead_ids) > LOCKED_AT_MOST:
        return
    session.execute(
        sa.text(
            "SELECT pg_advisory_xact_lock(:space, x) FROM "
            "(SELECT unnest(CAST(:ids AS integer[])) AS x ORDER BY 1) AS locked"
        ),
        {"space": LOCK_SPACE, "ids": lead_ids},
    )


def sync_leads(session: Session, lead_ids: Iterable[int], *, now: datetime | None = None) -> None:
    """Sync the feed of these leads (in the caller's transaction): the lock (PostgreSQL,
    a few leads), then two statements per chunk of leads: the entries that go, the
    entries that come."""
    ids = sorted({int(i) for i in lead_ids})
    since = kept_since(now)
    dialect = session.get_bind().dialect.name
    _lock(session, ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        owner = sa.select(_lead.c.id).where(_lead.c.id == _entry.c.lead_id, _lead.c.owner_id == _entry.c.user_id)
        watcher = sa.select(_watcher.c.lead_id).where(
            _watcher.c.lead_id == _entry.c.lead_id, _watcher.c.user_id == _entry.c.user_id
        )
        session.execute(sa.delete(_entry).where(_entry.c.lead_id.in_(chunk), ~owner.exists(), ~watcher.exists()))
        session.execute(insert_entries(dialect, entries(since, chunk)))
