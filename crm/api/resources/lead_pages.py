"""A page of the API's lead list in one statement, built once per shape.

A page is its rows and how many leads the list has: the count (up to the exact bound,
:mod:`crm.core.counting`) is an uncorrelated subquery of the page's statement, read once
per statement, so a page is one round trip.  Without filters the statement depends only
on its shape (administrator or not, the sort, where the cursor points, a page number or
not): it is built once per process with bound parameters for the viewer, the cursor's
position and the page's size, and SQLAlchemy then finds its compiled form and its
result's columns without making them again.  Filters add conditions built per request.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from crm.accounts.models import Role, User
from crm.api.resources.lead_rows import LEAD_TABLE, lead_columns
from crm.core.counting import Count, bounded_count, count_column, count_of, exact_limit
from crm.core.keyset import NEXT, Key, Parts, Position, WalkedKey, ranged
from crm.leads.models import Lead
from crm.leads.queries import visible_to_viewer

SORT_COLUMNS: dict[str, Any] = {
    "updated_at": col(Lead.updated_at),
    "created_at": col(Lead.created_at),
    "title": sa.func.lower(Lead.title),
    "stage": col(Lead.stage_rank),
    "estimated_value": col(Lead.estimated_value),
    "next_followup_due_at": col(Lead.next_due_at),
    "id": col(Lead.id),
}
NULLABLE = ("estimated_value", "next_followup_due_at")

_SHAPES: dict[Hashable, Any] = {}
_SHAPES_KEPT = 256


def sort_key(sort: str) -> WalkedKey:
    """The list's order for ``sort``; its positions reach :class:`LeadPages`'s fetch as they are."""
    name = sort.removeprefix("-")
    return WalkedKey(SORT_COLUMNS[name], col(Lead.id), descending=sort.startswith("-"), nullable=name in NULLABLE)


class LeadPages:
    """The ``fetch`` of :func:`crm.api.listing.page_window` for the API's lead list, and the
    count read with its page.  ``filters``: conditions beyond visibility (none: the
    statement is built once per shape)."""

    def __init__(self, session: Session, user: User, sort: str, filters: Sequence[Any]) -> None:
        self.session = session
        self.admin = user.role == Role.ADMIN
        self.viewer = user.id
        self.sort = sort
        self.key = sort_key(sort)
        self.filters = list(filters)
        self.total: Count | None = None

    def _visible(self) -> Any:
        return sa.true() if self.admin else visible_to_viewer(sa.bindparam("viewer"))

    def _statement(self, position: Position | None, offset: bool) -> Any:
        dialect = self.session.get_bind().dialect.name
        shape = (dialect, self.admin, self.sort, _kind(position), offset)
        statement = None if self.filters else _SHAPES.get(shape)
        if statement is None:
            statement = self._build(position, offset)
            if not self.filters:
                if len(_SHAPES) >= _SHAPES_KEPT:
                    _SHAPES.pop(next(iter(_SHAPES)))
                _SHAPES[shape] = statement
        return statement

    def _build(self, position: Position | None, offset: bool) -> Any:
        key = Key(self.key.column, self.key.tie, self.key.descending, self.key.nullable)
        n = sa.bindparam("n", type_=sa.Integer)
        ids: Any = sa.select(col(Lead.id).label("lead_id"), key.column.label("sort_key"))
        ids = ids.where(self._visible(), *self.filters)
        if position is None:
            order, condition = key.order(), None
        else:
            order = key.order(reverse=position.direction != NEXT)
            bound = Position(
                position.direction,
                None if position.value is None else sa.bindparam("at_value", type_=key.column.type),
                sa.bindparam("at_id", type_=sa.Integer),  # type: ignore[arg-type]
            )
            parts = key.parts(bound)
            condition = parts[0] if len(parts) == 1 else Parts(tuple(parts))
        page = ranged(ids, condition, order, n, sa.bindparam("skip", type_=sa.Integer) if offset else 0)
        page = page.subquery("page")
        counted = sa.select(col(Lead.id)).where(self._visible(), *self.filters)
        total = count_column(counted, sa.bindparam("count_limit", type_=sa.Integer))
        return (
            sa.select(*lead_columns(self.session), page.c.sort_key, total)
            .select_from(LEAD_TABLE.join(page, page.c.lead_id == LEAD_TABLE.c.id))
            .order_by(page.c.n)
        )

    def __call__(self, condition: Position | None, order: Any, n: int, offset: int = 0) -> list[Any]:
        limit = exact_limit()
        values: dict[str, Any] = {"n": n, "count_limit": limit + 1}
        if not self.admin:
            values["viewer"] = self.viewer
        if offset:
            values["skip"] = offset
        if condition is not None:
            values["at_id"] = condition.ident
            if condition.value is not None:
                values["at_value"] = condition.value
        rows = list(self.session.connection().execute(self._statement(condition, bool(offset)), values).all())
        if rows and self.total is None:
            self.total = self._count(int(rows[0].list_total), limit)
        return rows

    def count(self) -> Count:
        """How many leads the list has (read with its page; counted on its own if the page was empty)."""
        if self.total is None:
            self.total = bounded_count(self.session, self._counted())
        return self.total

    def _counted(self) -> Any:
        """The list's leads, with the viewer's id in place (for a count or an estimate)."""
        visible = sa.true() if self.admin else visible_to_viewer(self.viewer)
        return sa.select(col(Lead.id)).where(visible, *self.filters)

    def _count(self, found: int, limit: int) -> Count:
        # Without filters the estimate is the viewer's alone: kept under that, not the
        # statement's key (which would cost about what the page does to make).
        reuse = (
            None if self.filters else ("api-leads", str(self.session.get_bind().engine.url), self.admin, self.viewer)
        )
        return count_of(self.session, found, self._counted, limit, key=reuse)


def _kind(position: Position | None) -> Hashable:
    return None if position is None else (position.direction, position.value is None)
