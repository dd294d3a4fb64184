"""Inbound mail: the IMAP poller (every minute from beat, when a mailbox is configured)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from crm.core.db import db


@shared_task(name="crm.inbound.poll_imap")
def poll_imap() -> int:
    from crm.inbound.imap import parse_imap_url, poll_mailbox

    url = current_app.config.get("INBOUND_IMAP_URL")
    if not url:
        return 0
    return poll_mailbox(db.session, parse_imap_url(str(url)))
