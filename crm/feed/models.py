"""A feed entry: an event on a lead, for one of the users who owned or watched the lead
when the entry was written (its owner and watchers, except the event's actor).

Today lists the entries of the last :data:`RECENT_DAYS`; the entries of one more day are
kept, so that a consumer running late, or a clock a little ahead, misses nothing.  Older
entries are pruned by the nightly retention job.

The entry goes with its event (retention) and with its user, by the foreign keys; the
lead has no foreign key: a deleted lead's entries go when its deletion is synced (see
:mod:`crm.feed.sync`), and until then the read, which joins the lead, skips them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime

RECENT_DAYS = 14  # what Today lists
KEPT_DAYS = RECENT_DAYS + 1  # what the feed keeps


class FeedEntry(SQLModel, table=True):
    __tablename__ = "feed_entry"
    __table_args__ = (
        # A user's entries newest first (read backwards).
        sa.Index("ix_feed_entry_user_occurred", "user_id", "occurred_at", "event_id"),
        # A lead's entries, when its owner or watchers change.
        sa.Index("ix_feed_entry_lead_user", "lead_id", "user_id"),
    )

    # The event first: the key also serves the cascade when retention deletes events.
    event_id: int = Field(
        foreign_key="event.id", primary_key=True, ondelete="CASCADE", sa_column_kwargs={"autoincrement": False}
    )
    user_id: int = Field(
        foreign_key="user_account.id", primary_key=True, ondelete="CASCADE", sa_column_kwargs={"autoincrement": False}
    )
    lead_id: int
    occurred_at: datetime = Field(sa_type=UTCDateTime)
