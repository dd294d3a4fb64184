"""The one table of periodic jobs.  Beat runs in UTC; every job is idempotent."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "beat-heartbeat": {"task": "crm.core.beat_tick", "schedule": 30.0},
    "relay-events": {"task": "crm.events.relay", "schedule": 5.0},
    "republish-lost-events": {"task": "crm.events.republish", "schedule": 300.0},
    "dispatch-reminders": {"task": "crm.reminders.dispatch_due", "schedule": 60.0},
    "dispatch-digests": {"task": "crm.digests.dispatch_due", "schedule": 900.0},
    "sweep-mail": {"task": "crm.mail.sweep", "schedule": 30.0},
    "purge-embedded-broker": {"task": "crm.core.purge_embedded_broker", "schedule": 3600.0},
    # Every night at 02:30 UTC (03:30 in Casablanca): the retention settings.
    "apply-retention": {"task": "crm.core.apply_retention", "schedule": crontab(hour=2, minute=30)},
    "sweep-webhooks": {"task": "crm.webhooks.sweep", "schedule": 15.0},
    "requeue-stalled-imports": {"task": "crm.exchange.requeue_stalled", "schedule": 300.0},
    "dispatch-checkins": {"task": "crm.checkins.dispatch_due", "schedule": 3600.0},
    # Every night at 03:10 UTC: document files left without a row (a process that died
    # between writing a file and committing its row).
    "sweep-orphan-documents": {"task": "crm.documents.sweep_orphans", "schedule": crontab(hour=3, minute=10)},
    "poll-imap": {"task": "crm.inbound.poll_imap", "schedule": 60.0},  # does nothing without INBOUND_IMAP_URL
}
