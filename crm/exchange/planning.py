"""Writes of the preview of a large file, planned by a worker (``crm.exchange.plan_import``)
rather than in the request: the worker takes the import, stores what each row will do, or
records why it could not; each with its event.

The stored plan belongs to one mapping and one way of reading the file: mapping the columns
again or reading the file otherwise forgets it (a new task id, so that a plan still being
made for the old mapping is thrown away).  It is what the data said when it was planned;
the import itself plans again inside its transaction, so a stale plan is never written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from crm.core.db import serialise_writers
from crm.core.events import jsonable, record_event
from crm.core.time import utcnow
from crm.exchange.display import SUMMARY_KEYS
from crm.exchange.models import DataImport, ImportKind, ImportPlanRow, ImportStatus, RowAction
from crm.exchange.plan import Problem, RowPlan, chunked


def forget_plan(session: Session, data_import: DataImport) -> None:
    """Delete the stored plan (the caller records the event that says why)."""
    data_import.planned_at = None
    if data_import.id is not None:
        session.execute(delete(ImportPlanRow).where(ImportPlanRow.data_import_id == data_import.id))  # type: ignore[arg-type]


def start_planning(session: Session, data_import: DataImport) -> bool:
    """A worker takes the planning (counted by the sweep: a file that kills workers fails)."""
    if data_import.status != ImportStatus.PLANNING or data_import.started_at is not None:
        return False
    data_import.started_at = utcnow()
    record_event(session, "import.planning_started", data_import, actor=None, payload={})
    return True


def _plan_row(import_id: int, kind: ImportKind, plan: RowPlan) -> dict[str, Any]:
    # A created row shows only its summary: only those values are kept.
    created = plan.action == RowAction.CREATE
    values = {k: plan.values[k] for k in SUMMARY_KEYS[kind] if k in plan.values} if created else {}
    return {
        "data_import_id": import_id,
        "row_number": plan.number,
        "action": plan.action,
        "label": plan.label[:300],
        "target_id": plan.target_id,
        "values": jsonable(values),
        "changes": jsonable(plan.changes),
        "problems": [p.to_json() for p in plan.problems],
        "notes": [p.to_json() for p in plan.notes],
    }


def store_plan(session: Session, import_id: int, task_id: str, plans: list[RowPlan]) -> DataImport | None:
    """Keep the plan as the preview of the import, if it is still the one being planned by
    this task (not cancelled, mapped again or planned already by another run of it).
    Returns the import when the plan was stored."""
    serialise_writers(session, f"import:{import_id}")
    locked = session.exec(
        select(DataImport).where(DataImport.id == import_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if locked is None or locked.status != ImportStatus.PLANNING or locked.task_id != task_id:
        return None
    forget_plan(session, locked)
    rows = [_plan_row(import_id, locked.kind, plan) for plan in plans]
    for batch in chunked(rows, 1000):
        session.execute(insert(ImportPlanRow), batch)
    counts = {action.value: sum(1 for p in plans if p.action == action) for action in RowAction}
    locked.status = ImportStatus.MAPPED
    locked.planned_at = utcnow()
    locked.failure = {}
    record_event(session, "import.planned", locked, actor=None, payload={"rows": len(plans), **counts})
    return locked


def fail_planning(session: Session, data_import: DataImport, problem: Problem) -> None:
    """Record why the preview could not be planned: the import goes back to its columns,
    which show why; mapping them again plans again."""
    forget_plan(session, data_import)
    data_import.status = ImportStatus.UPLOADED
    data_import.failure = problem.to_json()
    record_event(session, "import.planning_failed", data_import, actor=None, payload=data_import.failure)
