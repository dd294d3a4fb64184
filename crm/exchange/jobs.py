"""Running a confirmed import: inline in the request for a small file, in a Celery worker
(``crm.exchange.run_import``) for a large one, which reports its progress through Celery's
result backend — the import's own transaction is not visible until it commits.  The
preview of a large file is planned in a worker too (``crm.exchange.plan_import``), which
stores it for the preview pages.

A confirmed import (or a planning) whose task went missing (a broker restarted without its
data, a request that died before it ran the import) is handed to a worker again by a
periodic sweep, up to :data:`MAX_HANDOVERS` times once workers have started it; running an
import, or planning one, twice is safe."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlmodel import Session, col, select

from crm.core.db import pk, serialise_writers
from crm.core.errors import ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.exchange.models import DataImport, ImportStatus
from crm.exchange.operations import (
    WORKER_READ_FACTOR,
    ImportFailure,
    Progress,
    apply_import,
    fail_import,
    fail_planning,
    import_author,
    start_import,
    start_planning,
    store_plan,
)
from crm.exchange.plan import Problem
from crm.exchange.queries import plan_rows, planner_for, read_import, read_seconds

log = logging.getLogger(__name__)
TASK = "crm.exchange.run_import"
PLAN_TASK = "crm.exchange.plan_import"
UNEXPECTED = _l("The import stopped on an unexpected error; nothing was written. Try again, or ask an admin.")
NO_QUEUE = _l("The job queue cannot be reached; nothing was written. Try again in a moment.")
GAVE_UP = _l("The import stopped several times before it finished; nothing was written. Try again, or ask an admin.")
# Said under "The preview could not be prepared." on the columns page.
PLANNING_UNEXPECTED = _l("It stopped on an unexpected error. Map the columns again to try again, or ask an admin.")
PLANNING_NO_QUEUE = _l("The job queue cannot be reached. Map the columns again in a moment.")
PLANNING_GAVE_UP = _l(
    "It stopped several times before it finished. Map the columns again to try again, or ask an admin."
)
# A confirmed import that no worker has taken, or that none is running, this long after it
# was last handed over is handed over again.
STALLED_AFTER = timedelta(minutes=10)
MAX_HANDOVERS = 3


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
    # Read under the same locks as the import itself: another run of it (a task sent twice)
    # may have finished it meanwhile, and then this run's failure is not the import's.
    serialise_writers(session, f"import:{import_id}")
    data_import = session.exec(
        select(DataImport).where(DataImport.id == import_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if data_import is None or not data_import.status.is_working:
        session.rollback()
        return
    fail_import(session, data_import, problem, row=row)
    session.commit()


def queue_import(session: Session, data_import: DataImport) -> bool:
    """Hand a committed, confirmed import to a worker; if the broker cannot be reached, the
    import is marked failed (it can be confirmed again)."""
    try:
        send_import_task(pk(data_import), data_import.task_id or "")
    except Exception:
        log.warning("could not queue import %s", data_import.id, exc_info=True)
        _record_failure(session, data_import.id or 0, Problem.of(None, NO_QUEUE), None)
        return False
    return True


def send_import_task(import_id: int, task_id: str) -> None:
    current_app.extensions["celery"].send_task(TASK, args=[import_id], task_id=task_id, retry=False)


def execute_planning(session: Session, import_id: int, task_id: str) -> ImportStatus | None:
    """Plan every row of a large file against the data as it is now, and store the plan for
    the preview; or record why that could not be done.

    Safe to run twice, or late: only the task the import was last handed to (for its
    current mapping) stores a plan, and only while the import waits for one."""
    data_import = session.get(DataImport, import_id)
    if data_import is None:
        return None
    if data_import.status != ImportStatus.PLANNING or data_import.task_id != task_id:
        return data_import.status
    if start_planning(session, data_import):
        session.commit()
    try:
        author = import_author(session, data_import)
        # More time than the request had to read it (a busy worker), still a bounded time.
        table = read_import(session, data_import, seconds=WORKER_READ_FACTOR * read_seconds())
        plans = plan_rows(planner_for(session, data_import, author), data_import, table)
        session.rollback()  # only read so far: the plan is stored under the import's lock
        store_plan(session, import_id, task_id, plans)
        session.commit()
    except ImportFailure as exc:
        session.rollback()
        _record_planning_failure(session, import_id, task_id, exc.problem)
    except ValidationError as exc:
        session.rollback()
        name, message = next(iter(exc.errors.items()))
        _record_planning_failure(session, import_id, task_id, Problem.of(name, message))
    except Exception:
        log.exception("planning import %s stopped on an unexpected error", import_id)
        session.rollback()
        _record_planning_failure(session, import_id, task_id, Problem.of(None, PLANNING_UNEXPECTED))
    finished = session.get(DataImport, import_id)
    return finished.status if finished is not None else None


def _record_planning_failure(session: Session, import_id: int, task_id: str, problem: Problem) -> None:
    serialise_writers(session, f"import:{import_id}")
    data_import = session.exec(
        select(DataImport).where(DataImport.id == import_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if data_import is None or data_import.status != ImportStatus.PLANNING or data_import.task_id != task_id:
        session.rollback()  # mapped again, cancelled or planned meanwhile: not this import's failure now
        return
    fail_planning(session, data_import, problem)
    session.commit()


def queue_planning(session: Session, data_import: DataImport) -> bool:
    """Hand a committed import waiting for its preview to a worker; if the broker cannot be
    reached, say so on its columns page (mapping them again tries again)."""
    task_id = data_import.task_id or ""
    try:
        send_planning_task(pk(data_import), task_id)
    except Exception:
        log.warning("could not queue the planning of import %s", data_import.id, exc_info=True)
        _record_planning_failure(session, pk(data_import), task_id, Problem.of(None, PLANNING_NO_QUEUE))
        return False
    return True


def send_planning_task(import_id: int, task_id: str) -> None:
    current_app.extensions["celery"].send_task(PLAN_TASK, args=[import_id], task_id=task_id, retry=False)


def requeue_stalled_imports(
    session: Session,
    send: Callable[[int, str], None],
    *,
    send_planning: Callable[[int, str], None] = send_planning_task,
    now: datetime | None = None,
) -> list[int]:
    """Hand again to a worker each confirmed import that is queued or running, and each
    large file whose preview is being planned, but that no worker holds, ``STALLED_AFTER``
    after it was last handed over.  One that workers started ``MAX_HANDOVERS`` times without
    finishing is marked failed instead (it can be confirmed, or its columns mapped, again);
    one that no worker ever started (workers down, its message lost) is handed over until
    one does.  Returns the ids handed over.

    An import being written holds its row locked (PostgreSQL) or the write lock (SQLite)
    until it commits, so the sweep never takes one that a worker is running.  The tasks are
    sent before the commit: if the broker cannot be reached, nothing is counted.  A planning
    holds no lock while it reads the file; one handed over again while it still runs is
    harmless, as only the first plan stored is kept."""
    now = now or utcnow()
    stalled = (
        col(DataImport.status).in_([ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.PLANNING]),
        col(DataImport.queued_at) < now - STALLED_AFTER,
    )
    if session.exec(select(DataImport.id).where(*stalled).limit(1)).first() is None:
        session.rollback()
        return []  # the usual case: no lock taken (on SQLite, no wait behind a running import)
    serialise_writers(session, "imports:requeue")
    query = select(DataImport).where(*stalled).order_by(col(DataImport.id))
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    handed: list[int] = []
    for data_import in session.exec(query).all():
        planning = data_import.status == ImportStatus.PLANNING
        if data_import.started_at is not None and data_import.handovers >= MAX_HANDOVERS:
            # Workers took it and died on it, again and again: not worth another try.
            if planning:
                fail_planning(session, data_import, Problem.of(None, PLANNING_GAVE_UP))
            else:
                fail_import(session, data_import, Problem.of(None, GAVE_UP))
            continue
        data_import.task_id = data_import.task_id or uuid.uuid4().hex
        data_import.handovers += 1
        data_import.queued_at = now
        payload = {"handovers": data_import.handovers, "planning": planning}
        record_event(session, "import.requeued", data_import, actor=None, payload=payload)
        handed.append(pk(data_import))
        (send_planning if planning else send)(pk(data_import), data_import.task_id)
    session.commit()
    return handed


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
