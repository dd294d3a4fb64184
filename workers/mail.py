"""Mail-ledger tasks: send one row; sweep expired leases and due retries."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from crm.core.db import db
from crm.core.ledger import MailStatus, due_mail_ids, requeue_expired_leases, send_one
from workers.queues import mail_queue

MAX_COUNTDOWN = 60.0  # longer waits are the sweeper's job, never a broker ETA


BATCH = 25


@shared_task(name="crm.mail.send")
def send_mail(mail_ids: list[int]) -> dict[str, int]:
    """Send a batch of ledger rows, each claimed, sent and recorded on its own."""
    config = current_app.config
    results: dict[str, int] = {}
    for mail_id in mail_ids:
        outcome = send_one(
            db.session,
            mail_id,
            sender=config["MAIL_FROM"],
            lease=timedelta(seconds=float(config["MAIL_LEASE_SECONDS"])),
            base=float(config["MAIL_RETRY_BASE_SECONDS"]),
            max_attempts=int(config["MAIL_MAX_ATTEMPTS"]),
        )
        if outcome is None:
            continue
        results[outcome.status.value] = results.get(outcome.status.value, 0) + 1
        if outcome.status == MailStatus.RETRY and outcome.retry_in is not None:
            wait = outcome.retry_in.total_seconds()
            if wait <= MAX_COUNTDOWN:
                send_mail.apply_async(([mail_id],), countdown=wait)
    return results


def enqueue_due_mail() -> int:
    """One send task per batch of due rows, on the queue of their kind (digests apart)."""
    due = due_mail_ids(db.session, stale_after=timedelta(seconds=float(current_app.config["MAIL_LEASE_SECONDS"])))
    by_queue: dict[str | None, list[int]] = {}
    for mail_id, kind in due:
        by_queue.setdefault(mail_queue(kind, current_app.config["BROKER_URL"]), []).append(mail_id)
    for queue, ids in by_queue.items():
        for start in range(0, len(ids), BATCH):
            send_mail.apply_async((ids[start : start + BATCH],), retry=True, queue=queue)
    return len(due)


@shared_task(name="crm.mail.sweep")
def sweep() -> int:
    """Rows of a dead process go back to the queue; due rows get a send task."""
    requeue_expired_leases(db.session)
    return enqueue_due_mail()
