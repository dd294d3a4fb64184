"""The feed follows the leads: the ``feed`` consumer syncs the lead an event is about
(see :mod:`crm.feed.sync`), exactly once per event through the consumer plumbing; the
events' order does not matter since the sync reads the lead, its watchers and events.

Read your writes: a transaction that records lead events also syncs those leads just
before it commits, so that Today, read right after a change (a watcher added, a lead
handed over, a note logged by a colleague), already lists it; the consumer's deliveries
then find nothing left to do, and remain the guarantee for events written outside a
session's flush (bulk inserts) and repair what a transaction that skipped the step left.

The cost is two or three statements per committing transaction with lead events, each
bounded by the recent events of the leads it touched."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.feed.sync import sync_leads

_PENDING = "jisr_feed_pending"


# Every event type: any event about a lead is listed on Today (a note, a document, a mail
# filed, a check-in answer), and the changes of owner and watchers are events too.
@consumer("feed", "*")
def keep_feed(session: Session, event: Event) -> None:
    if event.lead_id is not None:
        sync_leads(session, [event.lead_id])


@sa.event.listens_for(Session, "after_flush")
def _note_leads(session: Session, _context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Event) and obj.lead_id is not None:
            session.info.setdefault(_PENDING, set()).add(int(obj.lead_id))


@sa.event.listens_for(Session, "after_rollback")
def _forget_leads(session: Session) -> None:
    session.info.pop(_PENDING, None)


@sa.event.listens_for(Session, "before_commit")
def _sync_before_commit(session: Session) -> None:
    session.flush()  # the events still pending are noted by the flush
    lead_ids = session.info.pop(_PENDING, None)
    if lead_ids:
        sync_leads(session, lead_ids)
