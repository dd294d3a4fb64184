"""Recompute the feed from the events, leads and watchers, check it, prune it.

The rebuild is one ``DELETE`` and one ``INSERT … SELECT`` of the kept window's entries;
the benchmark's fill, which writes events with ``COPY``, runs it afterwards.  The check
compares the entries of the window Today lists with those computed now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crm.core.time import utcnow
from crm.feed.models import RECENT_DAYS, FeedEntry
from crm.feed.sync import entries, insert_entries, kept_since

_entry: sa.Table = FeedEntry.__table__  # type: ignore[attr-defined]


def rebuild(connection: sa.Connection, *, now: datetime | None = None) -> int:
    """Empty the feed and fill it again (in the caller's transaction); its rows."""
    if connection.dialect.name == "postgresql":
        # The syncs of leads wait until the rebuild commits (SQLite has one writer).
        connection.execute(sa.text("LOCK TABLE feed_entry IN SHARE ROW EXCLUSIVE MODE"))
    connection.execute(sa.delete(_entry))
    connection.execute(insert_entries(connection.dialect.name, entries(kept_since(now))))
    return int(connection.execute(sa.select(sa.func.count()).select_from(_entry)).scalar_one())


def prune(connection: sa.Connection, *, now: datetime | None = None) -> int:
    """Remove the entries older than the kept window; how many."""
    result = connection.execute(sa.delete(_entry).where(_entry.c.occurred_at < kept_since(now)))
    return int(result.rowcount or 0)


@dataclass
class CheckResult:
    missing: list[tuple[int, int]] = field(default_factory=list)  # (event, user) the feed lacks
    extra: list[tuple[int, int]] = field(default_factory=list)  # (event, user) it should not hold
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra


def _key(row: Any) -> tuple[int, int, int, datetime]:
    return (int(row[0]), int(row[1]), int(row[2]), row[3])


def check(connection: sa.Connection, *, now: datetime | None = None) -> CheckResult:
    """Compare the entries of the window Today lists with the entries computed now."""
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    kept_query = sa.select(_entry.c.event_id, _entry.c.user_id, _entry.c.lead_id, _entry.c.occurred_at).where(
        _entry.c.occurred_at >= since
    )
    kept = {_key(row) for row in connection.execute(kept_query)}
    expected = {_key(row) for row in connection.execute(entries(since))}
    return CheckResult(
        missing=sorted(k[:2] for k in expected - kept), extra=sorted(k[:2] for k in kept - expected), rows=len(kept)
    )
