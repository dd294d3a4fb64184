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

from crm.core.lead_views import kept_per_lead
from crm.feed.sync import sync_leads

# Every event type: any event about a lead is listed on Today (a note, a document, a mail
# filed, a check-in answer), and the changes of owner and watchers are events too.
_KEPT = kept_per_lead("feed", ("*",), sync_leads)
keep_feed = _KEPT.consume
_sync_before_commit = _KEPT.before_commit  # the session hook (tests take it off to see the consumer alone)
