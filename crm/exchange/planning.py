"""The stored plan of a large file's preview, which a worker (``crm.exchange.plan_import``)
makes rather than the request: its rows, kept and forgotten (by the operations, which record
the events).

The stored plan belongs to one mapping and one way of reading the file: mapping the columns
again or reading the file otherwise forgets it (a new task id, so that a plan still being
made for the old mapping is thrown away).  It is what the data said when it was planned;
the import itself plans again inside its transaction, so a stale plan is never written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session

from crm.core.db import pk
from crm.core.events import jsonable
from crm.core.time import utcnow
from crm.exchange.display import SUMMARY_KEYS
from crm.exchange.models import DataImport, ImportKind, ImportPlanRow, RowAction
from crm.exchange.plan import RowPlan, chunked


def forget_plan(session: Session, data_import: DataImport) -> None:
    """Delete the stored plan (the caller records the event that says why)."""
    data_import.planned_at = None
    if data_import.id is not None:
        session.execute(delete(ImportPlanRow).where(ImportPlanRow.data_import_id == data_import.id))  # type: ignore[arg-type]


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


def keep_plan(session: Session, data_import: DataImport, plans: list[RowPlan]) -> None:
    """Store ``plans`` as the import's preview, in place of any earlier one (the caller
    records the event)."""
    forget_plan(session, data_import)
    rows = [_plan_row(pk(data_import), data_import.kind, plan) for plan in plans]
    for batch in chunked(rows, 1000):
        session.execute(insert(ImportPlanRow), batch)
    data_import.planned_at = utcnow()
