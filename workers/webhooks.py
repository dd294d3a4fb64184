"""Webhook tasks: send deliveries; sweep expired leases and due retries; trim the log."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from crm.core.db import db
from crm.webhooks.delivery import DeliverySettings, send_delivery
from crm.webhooks.ledger import due_delivery_ids, requeue_expired_leases
from crm.webhooks.models import DeliveryStatus

MAX_COUNTDOWN = 60.0  # longer waits are the sweeper's job, never a broker ETA
BATCH = 10


@shared_task(name="crm.webhooks.send")
def send_deliveries(delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch of deliveries, each claimed, sent and recorded on its own."""
    settings = DeliverySettings.from_config(current_app.config)
    results: dict[str, int] = {}
    for delivery_id in delivery_ids:
        outcome = send_delivery(db.session, delivery_id, settings)
        if outcome is None:
            continue
        results[outcome.status.value] = results.get(outcome.status.value, 0) + 1
        if outcome.status == DeliveryStatus.RETRY and outcome.retry_in is not None:
            wait = outcome.retry_in.total_seconds()
            if wait <= MAX_COUNTDOWN:
                send_deliveries.apply_async(([delivery_id],), countdown=wait)
    return results


@shared_task(name="crm.webhooks.sweep")
def sweep() -> int:
    """Deliveries of a dead sender go back to the queue; due ones get a send task."""
    config = current_app.config
    requeue_expired_leases(db.session, max_attempts=int(config["WEBHOOK_MAX_ATTEMPTS"]))
    stale = DeliverySettings.from_config(config).lease
    ids = due_delivery_ids(db.session, stale_after=stale)
    for start in range(0, len(ids), BATCH):
        send_deliveries.apply_async((ids[start : start + BATCH],), retry=True)
    return len(ids)
