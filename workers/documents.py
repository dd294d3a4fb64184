"""The nightly sweep of document files that no row points at (see crm/documents/cleanup.py)."""

from __future__ import annotations

from celery import shared_task

from crm.core.db import db
from crm.documents.cleanup import sweep_orphans
from crm.documents.storage import storage


@shared_task(name="crm.documents.sweep_orphans")
def sweep_orphan_documents() -> int:
    return len(sweep_orphans(db.session, storage()))
