"""The error report: the rows that were (or would be) left out, exactly as uploaded, plus a
column saying why — in the same format as the upload, to fix and upload again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm.accounts.models import User
from crm.core.errors import ValidationError
from crm.core.i18n import current_language, text_direction
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.exchange.display import problem_text
from crm.exchange.models import DataImport, ImportStatus, RowAction
from crm.exchange.plan import Problem
from crm.exchange.queries import error_row_numbers, plan_import, read_import, stored_plan_problems
from crm.exchange.writing import csv_chunks, xlsx_bytes

FINISHED = (ImportStatus.COMPLETED, ImportStatus.REVERTED)


@dataclass
class Report:
    filename: str
    mimetype: str
    content: bytes


def error_report(session: Session, data_import: DataImport, actor: User) -> Report:
    """The failed rows of a finished import, or of the preview before it is confirmed."""
    if data_import.status == ImportStatus.PLANNING:  # its worker has not said yet which rows fail
        raise ValidationError.single("status", _l("The preview is being prepared."))
    table = read_import(session, data_import)
    if data_import.status in FINISHED:
        problems = {
            n: [Problem.from_json(p) for p in found] for n, found in error_row_numbers(session, data_import).items()
        }
    elif data_import.planned_at is not None:  # a large file: as the worker planned it
        problems = stored_plan_problems(session, data_import)
    else:
        problems = {
            plan.number: plan.problems
            for plan in plan_import(session, data_import, actor)
            if plan.action == RowAction.ERROR
        }
    failed = [(number, cells) for number, cells in table.rows if number in problems]
    width = max([len(table.headers), *(len(cells) for _, cells in failed)])
    headers = [*table.headers, *[""] * (width - len(table.headers)), _("Errors")]
    rows = []
    for number, cells in failed:
        reasons = "; ".join(
            problem_text(data_import.kind, p, table.headers, data_import.mapping) for p in problems[number]
        )
        rows.append([*cells, *[""] * (width - len(cells)), reasons])
    stem = f"jisr-import-{data_import.id}-errors"
    if data_import.file_format == "xlsx":
        content = xlsx_bytes(_("Errors"), headers, rows, right_to_left=text_direction() == "rtl")
        return Report(f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", content)
    delimiter = str(data_import.options.get("delimiter") or ",")
    text = "".join(csv_chunks(headers, rows, language=current_language(), delimiter=delimiter))
    return Report(f"{stem}.csv", "text/csv; charset=utf-8", text.encode("utf-8"))
