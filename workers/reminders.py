"""The reminder dispatcher task (every minute from beat)."""

from __future__ import annotations

from celery import shared_task

from crm.core.db import db
from crm.followups.dispatch import dispatch_due_reminders
from workers.mail import enqueue_due_mail


@shared_task(name="crm.reminders.dispatch_due")
def dispatch_due(max_batches: int = 20) -> int:
    queued = 0
    for _ in range(max_batches):
        count = dispatch_due_reminders(db.session)
        queued += count
        if count == 0:
            break
    enqueue_due_mail()
    return queued
