"""The summaries follow the leads: the ``summaries`` consumer syncs the lead an event is
about (see :mod:`crm.summaries.sync`), exactly once per event through the consumer
plumbing, and the events' order does not matter since the sync reads the lead itself.

Read your writes: a transaction that records lead events also syncs those leads just
before it commits, so that the board redrawn after a move, or the dashboard opened after
an edit, already counts it, and the summaries never show a change that was rolled back.
Its consumer deliveries then find nothing left to do (syncing again changes nothing);
they remain the guarantee for the events of a transaction that skipped the step, and
repair what a bulk write without events left (see ``crm summaries rebuild``).

The cost is some ten statements per committing transaction with lead events, and the
tally rows it changes stay locked until its commit: writers of the same tally row (the
same stage, currency, sector, organisation, owner) commit one after the other."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.summaries.sync import sync_leads

# Every event that may change what a lead counts for: its stage, value, currency,
# probability, sector, Moroccan organisation, owner or confidentiality (lead.updated
# also covers organisation merges and a leaver's leads handed over), its being created
# (one by one, or in bulk by an import) or deleted (by hand or by reverting an import),
# its stage moves and its open follow-ups.  Erasing a contact changes none of these.
SUMMARY_EVENTS = (
    "lead.created",
    "lead.updated",
    "lead.stage_changed",
    "lead.deleted",
    "followup.scheduled",
    "followup.rescheduled",
    "followup.reassigned",
    "followup.done",
    "followup.cancelled",
)
_PENDING = "jisr_summaries_pending"


@consumer("summaries", *SUMMARY_EVENTS)
def keep_summaries(session: Session, event: Event) -> None:
    if event.lead_id is not None:
        sync_leads(session, [event.lead_id])


@sa.event.listens_for(Session, "after_flush")
def _note_leads(session: Session, _context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Event) and obj.type in SUMMARY_EVENTS and obj.lead_id is not None:
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
