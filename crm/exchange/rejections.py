"""The preview's warning when most rows would be left out (a column mapped to the wrong
field, a needed field missing): how many, the three most common reasons, and the
confirmation the confirm button then asks for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.errors import ValidationError
from crm.core.i18n import ngettext
from crm.exchange.display import problem_text
from crm.exchange.models import DataImport, ImportPlanRow, ImportStatus, RowAction
from crm.exchange.plan import Problem, RowPlan
from crm.exchange.queries import plan_counts, plan_import, stored_plan_counts

REASONS = 3
# The confirm form's checkbox that accepts leaving most rows out.
ACCEPT_FIELD = "accept_rejections"


def most_rejected(counts: dict[str, int]) -> bool:
    """More than half of the rows would be left out."""
    total = sum(counts.values())
    return total > 0 and counts.get(RowAction.ERROR.value, 0) * 2 > total


@dataclass
class RejectionWarning:
    rejected: int
    total: int
    reasons: list[str]

    def text(self) -> str:
        return ngettext(
            "%(num)d of %(total)d rows would be rejected.",
            "%(num)d of %(total)d rows would be rejected.",
            self.rejected,
            total=self.total,
        )


def _reasons(data_import: DataImport, problems: Iterable[Problem]) -> list[str]:
    """The most common problems (a field and a message), each read with its first example."""
    seen: Counter[tuple[str | None, str]] = Counter()
    example: dict[tuple[str | None, str], Problem] = {}
    for problem in problems:
        key = (problem.field, problem.msgid)
        seen[key] += 1
        example.setdefault(key, problem)
    return [
        f"{text} ({ngettext('%(num)d row', '%(num)d rows', n)})"
        for key, n in seen.most_common(REASONS)
        if (text := problem_text(data_import.kind, example[key], data_import.headers, data_import.mapping))
    ]


def _stored_problems(session: Session, data_import: DataImport) -> Iterable[Problem]:
    found = session.exec(
        select(ImportPlanRow.problems).where(
            ImportPlanRow.data_import_id == data_import.id, col(ImportPlanRow.action) == RowAction.ERROR
        )
    )
    for problems in found:
        for problem in problems:
            yield Problem.from_json(problem)


def rejection_warning(
    session: Session, data_import: DataImport, counts: dict[str, int], plans: list[RowPlan] | None
) -> RejectionWarning | None:
    """The warning, when most rows would be left out; ``plans`` are the planned rows of a
    small file (None: the plan a worker stored)."""
    if not most_rejected(counts):
        return None
    if plans is None:
        problems: Iterable[Problem] = _stored_problems(session, data_import)
    else:
        problems = (p for plan in plans if plan.action == RowAction.ERROR for p in plan.problems)
    return RejectionWarning(counts[RowAction.ERROR.value], sum(counts.values()), _reasons(data_import, problems))


def mostly_rejected(session: Session, data_import: DataImport, actor: User) -> bool:
    """Most rows of the preview as it stands would be left out (nothing to accept before
    the preview is shown)."""
    if data_import.status not in (ImportStatus.MAPPED, ImportStatus.FAILED):
        return False
    if data_import.planned_at is not None:
        return most_rejected(stored_plan_counts(session, data_import))
    try:
        return most_rejected(plan_counts(plan_import(session, data_import, actor)))
    except ValidationError:
        return False  # the file cannot be read: confirming says so
