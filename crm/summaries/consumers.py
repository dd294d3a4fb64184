"""The summaries follow the leads: the ``summaries`` consumer syncs the lead an event is
about (see :mod:`crm.summaries.sync`), exactly once per event through the consumer
plumbing, and the events' order does not matter since the sync reads the lead itself.

Read your writes: the process that commits lead events also syncs those leads right
after its commit, in a transaction of its own, so that the board redrawn after a move,
or the dashboard opened after an edit, already counts it.  That step is a shortcut, not
the guarantee: if it fails (or the process dies first) the consumer's delivery does the
same work moments later, and running both changes nothing more than one would."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.summaries.sync import sync_leads

log = logging.getLogger(__name__)

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


@sa.event.listens_for(Session, "after_commit")
def _sync_committed(session: Session) -> None:
    lead_ids = session.info.pop(_PENDING, None)
    if not lead_ids:
        return
    try:
        with Session(session.get_bind()) as own:
            sync_leads(own, lead_ids)
            own.commit()
    except Exception:  # the consumer's delivery will do it
        log.warning("summaries: syncing %d leads after commit failed", len(lead_ids), exc_info=True)
