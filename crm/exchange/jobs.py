"""Running a confirmed import: inline in the request for a small file, in a Celery worker
(``crm.exchange.run_import``) for a large one, which reports its progress through Celery's
result backend — the import's own transaction is not visible until it commits."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlmodel import Session

from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.exchange.models import DataImport, ImportStatus
from crm.exchange.operations import ImportFailure, Progress, apply_import, fail_import, start_import
from crm.exchange.plan import Problem

log = logging.getLogger(__name__)
TASK = "crm.exchange.run_import"
UNEXPECTED = _l("The import stopped on an unexpected error; nothing was written. Try again, or ask an admin.")
NO_QUEUE = _l("The job queue cannot be reached; nothing was written. Try again in a moment.")


def execute_import(session: Session, import_id: int, progress: Progress | None = None) -> ImportStatus | None:
    """Start the confirmed import, run it in one transaction, and record a failure if any.

    Safe to run twice (a redelivered task): a finished import is left as it is, and the
    import transaction locks the import's row first."""
    data_import = session.get(DataImport, import_id)
    if data_import is None:
        return None
    if start_import(session, data_import):
        session.commit()
    if data_import.status != ImportStatus.RUNNING:
        return data_import.status
    try:
        apply_import(session, data_import, progress=progress)
        session.commit()
    except ImportFailure as exc:
        session.rollback()
        _record_failure(session, import_id, exc.problem, exc.row)
    except ValidationError as exc:
        session.rollback()
        name, message = next(iter(exc.errors.items()))
        _record_failure(session, import_id, Problem.of(name, message), None)
    except Exception:
        log.exception("import %s stopped on an unexpected error", import_id)
        session.rollback()
        _record_failure(session, import_id, Problem.of(None, UNEXPECTED), None)
    finished = session.get(DataImport, import_id)
    return finished.status if finished is not None else None


def _record_failure(session: Session, import_id: int, problem: Problem, row: int | None) -> None:
    data_import = session.get(DataImport, import_id)
    if data_import is None:
        return
    fail_import(session, data_import, problem, row=row)
    session.commit()


def queue_import(session: Session, data_import: DataImport) -> bool:
    """Hand a committed, confirmed import to a worker; if the broker cannot be reached, the
    import is marked failed (it can be confirmed again)."""
    celery = current_app.extensions["celery"]
    try:
        celery.send_task(TASK, args=[data_import.id], task_id=data_import.task_id, retry=False)
    except Exception:
        log.warning("could not queue import %s", data_import.id, exc_info=True)
        _record_failure(session, data_import.id or 0, Problem.of(None, NO_QUEUE), None)
        return False
    return True


def job_progress(data_import: DataImport) -> tuple[int, int] | None:
    """(rows done, rows in all) as the worker last reported them, if it has."""
    if not data_import.task_id:
        return None
    celery = current_app.extensions["celery"]
    try:
        result: Any = celery.AsyncResult(data_import.task_id)
        if result.state != "PROGRESS" or not isinstance(result.info, dict):
            return None
        return int(result.info.get("done", 0)), int(result.info.get("total", 0))
    except Exception:  # the result backend is unreachable: the page shows no figure
        log.warning("could not read the progress of import %s", data_import.id, exc_info=True)
        return None
