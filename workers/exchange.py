"""Import tasks: a large import runs here, reporting its progress to the result backend, and
the preview of a large file is planned here."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from crm.core.db import db
from crm.exchange.jobs import (
    execute_import,
    execute_planning,
    requeue_stalled_imports,
    send_import_task,
    send_planning_task,
)


@shared_task(name="crm.exchange.run_import", bind=True)
def run_import(self: Any, import_id: int) -> str | None:
    def progress(done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    status = execute_import(db.session, import_id, progress=progress)
    return status.value if status is not None else None


@shared_task(name="crm.exchange.plan_import", bind=True)
def plan_import(self: Any, import_id: int) -> str | None:
    status = execute_planning(db.session, import_id, str(self.request.id))
    return status.value if status is not None else None


@shared_task(name="crm.exchange.requeue_stalled")
def requeue_stalled() -> int:
    return len(requeue_stalled_imports(db.session, send_import_task, send_planning=send_planning_task))
