"""The outcome check-in dispatcher task (hourly from beat)."""

from __future__ import annotations

from celery import shared_task

from crm.checkins.dispatch import dispatch_due_checkins
from crm.core.db import db
from workers.mail import enqueue_due_mail


@shared_task(name="crm.checkins.dispatch_due")
def dispatch_due(max_batches: int = 20) -> int:
    queued = 0
    for _ in range(max_batches):
        count = dispatch_due_checkins(db.session)
        queued += count
        if count == 0:
            break
    enqueue_due_mail()
    return queued
