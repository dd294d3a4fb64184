"""Digest tasks: a beat job finds due subscriptions and fans out one task per chunk."""

from __future__ import annotations

from celery import shared_task

from crm.core.db import db
from crm.digests.dispatch import chunks, dispatch_chunk, due_subscription_ids
from workers.mail import enqueue_due_mail


@shared_task(name="crm.digests.dispatch_due")
def dispatch_due() -> int:
    """Every 15 minutes: one ``crm.digests.send_chunk`` task per ~100 due subscriptions."""
    ids = due_subscription_ids(db.session)
    db.session.rollback()
    for chunk in chunks(ids):
        send_chunk.apply_async((chunk,), retry=True)
    return len(ids)


@shared_task(name="crm.digests.send_chunk")
def send_chunk(subscription_ids: list[int]) -> dict[str, int]:
    results = dispatch_chunk(db.session, subscription_ids)
    enqueue_due_mail()
    return results
