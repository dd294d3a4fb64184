"""Reads about imports: who may see one, its file, its plan (the preview) and its rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import current_app
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.core.paging import Page, page_within
from crm.exchange.fields import header_signature, suggest_mapping
from crm.exchange.models import DataImport, ImportFile, ImportKind, ImportMapping, ImportPlanRow, ImportRow, RowAction
from crm.exchange.plan import Planner, Problem, RowPlan, source_rows
from crm.exchange.plan_contacts import ContactPlanner
from crm.exchange.plan_leads import LeadPlanner
from crm.exchange.plan_organisations import OrganisationPlanner
from crm.exchange.read_limits import READ_SECONDS
from crm.exchange.reading import Table, read_table

PLANNERS: dict[ImportKind, type[Planner]] = {
    ImportKind.ORGANISATIONS: OrganisationPlanner,
    ImportKind.CONTACTS: ContactPlanner,
    ImportKind.LEADS: LeadPlanner,
}
# Limits, overridable in the configuration (environment variables of the same names).
DEFAULT_LIMITS = {"IMPORT_MAX_BYTES": 10 * 1024 * 1024, "IMPORT_MAX_ROWS": 20_000, "IMPORT_INLINE_ROWS": 500}


def limit(name: str) -> int:
    return int(current_app.config.get(name, DEFAULT_LIMITS[name]))


def read_seconds() -> float:
    """How long reading an uploaded file may take (``IMPORT_READ_SECONDS``)."""
    return float(current_app.config.get("IMPORT_READ_SECONDS", READ_SECONDS))


def read_file(
    content: bytes, *, options: dict[str, Any] | None = None, first: int | None = None, seconds: float | None = None
) -> Table:
    """An uploaded file's rows, within the configured limits."""
    return read_table(
        content, options=options, max_rows=limit("IMPORT_MAX_ROWS"), seconds=seconds or read_seconds(), first=first
    )


def may_manage(user: User, data_import: DataImport) -> bool:
    """An import, its preview, results and revert belong to its author and the admins."""
    return user.role == Role.ADMIN or data_import.author_id == user.id


def visible_import(session: Session, user: User, import_id: int) -> DataImport | None:
    data_import = session.get(DataImport, import_id)
    if data_import is None or not may_manage(user, data_import):
        return None
    return data_import


def imports_for(session: Session, user: User, *, limit_to: int = 100) -> list[tuple[DataImport, User]]:
    """The latest imports the user may see (all of them for an admin), with their authors."""
    query = select(DataImport, User).join(User, col(User.id) == col(DataImport.author_id))
    if user.role != Role.ADMIN:
        query = query.where(DataImport.author_id == user.id)
    rows = session.exec(query.order_by(col(DataImport.created_at).desc(), col(DataImport.id).desc()).limit(limit_to))
    return [(data_import, author) for data_import, author in rows.all()]


def import_content(session: Session, data_import: DataImport) -> bytes:
    stored = session.get(ImportFile, data_import.id)
    if stored is None:
        raise ValidationError.single("file", _l("The file of this import is no longer kept."))
    return stored.content


def read_import(
    session: Session, data_import: DataImport, *, first: int | None = None, seconds: float | None = None
) -> Table:
    """The import's file read again with its options (only its first rows with ``first``)."""
    return read_file(import_content(session, data_import), options=data_import.options, first=first, seconds=seconds)


def planner_for(session: Session, data_import: DataImport, actor: User) -> Planner:
    """The planner of the import's kind, with the import's values for all rows."""
    return PLANNERS[data_import.kind](session, actor, data_import.defaults)


def plan_rows(planner: Planner, data_import: DataImport, table: Table) -> list[RowPlan]:
    return planner.plan(source_rows(table.rows, data_import.mapping))


def plan_import(session: Session, data_import: DataImport, actor: User) -> list[RowPlan]:
    """What the import would do now, row by row; it only reads (this is the preview)."""
    table = read_import(session, data_import)
    return plan_rows(planner_for(session, data_import, actor), data_import, table)


def plan_counts(plans: list[RowPlan]) -> dict[str, int]:
    counts = Counter(plan.action.value for plan in plans)
    return {action.value: counts.get(action.value, 0) for action in RowAction}


def stored_plan_counts(session: Session, data_import: DataImport) -> dict[str, int]:
    """How many rows of the stored plan will be created, updated, left as they are or left out."""
    found = session.exec(
        select(ImportPlanRow.action, func.count())
        .where(ImportPlanRow.data_import_id == data_import.id)
        .group_by(ImportPlanRow.action)
    ).all()
    counts = {RowAction(action).value: int(n) for action, n in found}
    return {action.value: counts.get(action.value, 0) for action in RowAction}


def _planned(row: ImportPlanRow) -> RowPlan:
    return RowPlan(
        number=row.row_number,
        action=RowAction(row.action),
        label=row.label,
        target_id=row.target_id,
        values=dict(row.values),
        changes=dict(row.changes),
        problems=[Problem.from_json(p) for p in row.problems],
        notes=[Problem.from_json(p) for p in row.notes],
    )


def stored_plan_page(
    session: Session, data_import: DataImport, *, action: RowAction | None, total: int, page: int, per_page: int = 100
) -> Page[RowPlan]:
    """One page of the stored plan (of the rows with ``action``, ``total`` of them), in file order."""
    conditions: list[Any] = [ImportPlanRow.data_import_id == data_import.id]
    if action is not None:
        conditions.append(ImportPlanRow.action == action)
    page = page_within(page, total, per_page)
    rows = session.exec(
        select(ImportPlanRow)
        .where(*conditions)
        .order_by(col(ImportPlanRow.row_number))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(rows=[_planned(row) for row in rows], total=total, page=page, per_page=per_page)


def stored_plan_problems(session: Session, data_import: DataImport) -> dict[int, list[Problem]]:
    """The problems of each row that the stored plan leaves out, by row number."""
    rows = session.exec(
        select(ImportPlanRow.row_number, ImportPlanRow.problems).where(
            ImportPlanRow.data_import_id == data_import.id, ImportPlanRow.action == RowAction.ERROR
        )
    ).all()
    return {number: [Problem.from_json(p) for p in problems] for number, problems in rows}


def import_rows(
    session: Session, data_import: DataImport, *, action: RowAction | None, page: int, per_page: int = 100
) -> Page[ImportRow]:
    conditions: list[Any] = [ImportRow.data_import_id == data_import.id]
    if action is not None:
        conditions.append(ImportRow.action == action)
    total = session.exec(select(func.count()).select_from(ImportRow).where(*conditions)).one()
    page = page_within(page, total, per_page)
    rows = session.exec(
        select(ImportRow)
        .where(*conditions)
        .order_by(col(ImportRow.row_number))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(rows=list(rows), total=total, page=page, per_page=per_page)


def error_row_numbers(session: Session, data_import: DataImport) -> dict[int, list[dict[str, Any]]]:
    """The problems of each failed row of a finished import, by row number."""
    rows = session.exec(
        select(ImportRow.row_number, ImportRow.problems).where(
            ImportRow.data_import_id == data_import.id, ImportRow.action == RowAction.ERROR
        )
    ).all()
    return {number: list(problems) for number, problems in rows}


def remembered_mapping(session: Session, kind: ImportKind, headers: list[str]) -> tuple[list[str], bool]:
    """The remembered mapping for these headers, else one recognised from the headers."""
    remembered = session.exec(
        select(ImportMapping).where(
            ImportMapping.kind == kind, ImportMapping.signature == header_signature(kind, headers)
        )
    ).first()
    if remembered is not None and len(remembered.mapping) == len(headers):
        return list(remembered.mapping), True
    return suggest_mapping(kind, headers), False
