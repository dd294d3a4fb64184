"""The feature packages whose modules register themselves with the plumbing.

``crm.core`` knows no feature: an event consumer is registered by the ``@consumer``
decorator when its module is imported, as a signal receiver would be.  The application
factory imports these modules once, so every process (web, worker, beat, CLI) has the
same consumers.
"""

from __future__ import annotations

import importlib

CONSUMER_MODULES = (
    "crm.accounts.consumers",
    "crm.checkins.consumers",
    "crm.documents.consumers",
    "crm.exchange.consumers",
    "crm.feed.consumers",
    "crm.followups.consumers",
    "crm.inbound.consumers",
    "crm.leads.next_due",
    "crm.notifications.consumers",
    "crm.summaries.consumers",
    "crm.webhooks.consumers",
)


def register_features() -> None:
    for module in CONSUMER_MODULES:
        importlib.import_module(module)
