"""Relay and consumer tasks of the event spine."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app

from crm.core.consumers import consume as run_consumer
from crm.core.db import db
from crm.core.outbox import publish_pending, republish_unconsumed

log = logging.getLogger(__name__)


def _publish(event_ids: list[int], name: str) -> None:
    consume_events.apply_async((event_ids, name), retry=True)


@shared_task(name="crm.events.relay")
def relay(max_batches: int = 20) -> int:
    """Publish unpublished events (from beat every few seconds, and kicked after commits)."""
    total = 0
    for _ in range(max_batches):
        published = publish_pending(db.session, _publish)
        total += published
        if not published:
            break
    return total


@shared_task(name="crm.events.consume", bind=True, max_retries=10)
def consume_events(self, event_ids: list[int], name: str) -> int:  # type: ignore[no-untyped-def]
    """Run one consumer on a batch of events, each once and in its own transaction."""
    done, failed = 0, []
    for event_id in event_ids:
        try:
            done += run_consumer(db.session, event_id, name)
        except Exception:
            db.session.rollback()
            log.exception("consumer %s failed on event %s", name, event_id)
            failed.append(event_id)
    if failed:
        # Only the failures come back; after the retries the republisher tries again.
        raise self.retry(args=(failed, name), countdown=min(60, 2 ** (self.request.retries + 1)))
    return done


@shared_task(name="crm.events.republish")
def republish() -> int:
    """Deliveries lost by the broker (e.g. a restart without persistence) are sent again."""
    after = timedelta(seconds=float(current_app.config["EVENT_REDELIVERY_AFTER_SECONDS"]))
    return republish_unconsumed(db.session, _publish, older_than=after)
