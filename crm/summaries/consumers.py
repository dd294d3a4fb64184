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

from crm.core.lead_views import kept_per_lead
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


_KEPT = kept_per_lead("summaries", SUMMARY_EVENTS, sync_leads)
keep_summaries = _KEPT.consume
_sync_before_commit = _KEPT.before_commit  # the session hook (tests take it off to see the consumer alone)
