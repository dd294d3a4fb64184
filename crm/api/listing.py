"""Lists: one page of rows, its neighbours' cursors and a cheap count, in a fixed number of
queries whatever the table's size.

A list endpoint builds its filtered ``select`` and names its sortable columns; the sort
parameter picks one of them (``-`` for descending), ties broken by id, so a page never
depends on the database's whim.  A page is found by keyset (:mod:`crm.core.keyset`): the
rows just after the row the ``cursor`` names, read through the sort column's index, so the
thousandth page costs what the first does.  A ``page`` number still works (clients used
it before cursors existed), by offset, which reads and skips every row before the page.
The count is exact up to ``LIST_EXACT_COUNT_LIMIT`` and an estimate beyond
(:mod:`crm.core.counting`): counting a million visible leads cost more than the page.
Related rows are then loaded for the whole page at once (one query per relation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.sql import operators
from sqlmodel import Session, col

from crm.api.framework import Reply
from crm.api.problems import invalid
from crm.core.counting import Count, bounded_count
from crm.core.i18n import lazy_gettext as _l
from crm.core.keyset import NEXT, PREVIOUS, BadCursor, Key, Position, Window, encode, window

# fetch(condition, order, n, offset): up to n rows meeting condition (None: all), in order.
Fetch = Callable[..., Sequence[Any]]


@dataclass
class Listed:
    rows: list[Any]
    total: Count
    page: int | None  # None: read by cursor
    limit: int
    next_cursor: str | None
    previous_cursor: str | None


def key_of(sort: str, columns: Mapping[str, Any], tie: Any, nullable: Iterable[str] = ()) -> Key:
    """The keyset order of an allow-listed ``sort`` (``-`` for descending) over ``columns``."""
    name = sort.removeprefix("-")
    return Key(columns[name], tie, descending=sort.startswith("-"), nullable=name in set(nullable))


def same_order(key: Key, order: Sequence[Any], column: Any, tie: Any) -> list[Any]:
    """``order`` (one of ``key.order()``'s, forwards or backwards) on other columns: those
    of a subquery that selected ``key``'s column and tie, for the query around it."""
    backwards = (getattr(order[-1], "modifier", None) is operators.desc_op) != key.descending
    return Key(column, tie, key.descending, key.nullable).order(reverse=backwards)


def _refused(message: Any) -> Exception:
    return invalid([{"loc": ["query", "cursor"], "message": message, "type": "invalid"}])


def page_window(
    q: Any, key: Key, sort: str, fetch: Fetch, position_of: Callable[[Any], tuple[Any, int]]
) -> tuple[Window[Any], int | None]:
    """The page ``q`` asks for (by ``cursor``, else by ``page``) and its number (``None``
    when read by cursor).  A bad cursor, or a cursor with a page, answers 422."""
    if q.cursor is not None:
        if q.page > 1:
            raise _refused(_l("Give either a cursor or a page number, not both."))
        try:
            return window(fetch, key, sort, cursor=q.cursor, limit=q.limit, position_of=position_of), None
        except BadCursor:
            raise _refused(_l("This cursor does not belong to this list and order: start again without it.")) from None
    if q.page == 1:
        return window(fetch, key, sort, cursor=None, limit=q.limit, position_of=position_of), 1
    # A deep page by number: skipped by offset, but it hands out cursors to read on with.
    rows = list(fetch(None, key.order(), q.limit + 1, (q.page - 1) * q.limit))
    more, rows = len(rows) > q.limit, rows[: q.limit]
    if not rows:
        return Window(rows, None, None), q.page
    after = encode(sort, Position(NEXT, *position_of(rows[-1]))) if more else None
    before = encode(sort, Position(PREVIOUS, *position_of(rows[0])))
    return Window(rows, after, before), q.page


def list_page(
    session: Session,
    query: Any,
    q: Any,
    *,
    name: str,
    columns: Mapping[str, Any],
    tie: Any,
    nullable: Iterable[str] = (),
    sort: str | None = None,
) -> Listed:
    """``query``'s page that ``q`` asks for, in its ``sort`` over ``columns``, and the count
    of all of them.  ``name`` tells the list's cursors from another's.  Rows are the
    query's own, then the sort value and the id."""
    sort = sort or q.sort
    key = key_of(sort, columns, tie, nullable)

    def fetch(condition: Any, order: list[Any], n: int, offset: int = 0) -> Sequence[Any]:
        found = query.add_columns(key.column.label("sort_key"), key.tie.label("sort_id"))
        if condition is not None:
            found = found.where(condition)
        found = found.order_by(*order).limit(n)
        return session.execute(found.offset(offset) if offset else found).all()

    shown, page = page_window(q, key, f"{name}:{sort}", fetch, lambda row: (row.sort_key, row.sort_id))
    return listed(shown, page, q.limit, bounded_count(session, query))


def listed(shown: Window[Any], page: int | None, limit: int, total: Count) -> Listed:
    return Listed(
        rows=shown.rows,
        total=total,
        page=page,
        limit=limit,
        next_cursor=shown.next_cursor,
        previous_cursor=shown.previous_cursor,
    )


def link_header(found: Listed) -> dict[str, str]:
    """``Link`` (RFC 8288) to the next and previous pages: this request's address with the
    cursor in place of any page number."""
    links = []
    for rel, cursor in (("next", found.next_cursor), ("prev", found.previous_cursor)):
        if cursor is None:
            continue
        values: dict[str, Any] = {name: request.args.getlist(name) for name in request.args}
        values.pop("page", None)
        values.update(request.view_args or {}, cursor=cursor)
        # url_for leaves "," and ";" as they are in a query; encoded, no reader of the
        # header can take them for its own separators.
        address = url_for(str(request.endpoint), **values).replace(",", "%2C").replace(";", "%3B")
        links.append(f'<{address}>; rel="{rel}"')
    return {"Link": ", ".join(links)} if links else {}


def page_reply(model: type[BaseModel], items: list[Any], found: Listed) -> Reply:
    """The envelope of one page, with its ``Link`` header."""
    body = model(
        items=items,
        page=found.page,
        limit=found.limit,
        total=found.total.value,
        total_exact=found.total.exact,
        next_cursor=found.next_cursor,
        previous_cursor=found.previous_cursor,
    )
    return Reply(body, headers=link_header(found))


def grouped(session: Session, query: Any) -> dict[int, list[Any]]:
    """``(owner_id, value)`` rows as ``{owner_id: [value, …]}`` (one query)."""
    found: dict[int, list[Any]] = {}
    for owner_id, value in session.execute(query).all():
        found.setdefault(int(owner_id), []).append(value)
    return found


def links_of(session: Session, table: Any, owner: str, other: str, ids: list[int]) -> dict[int, list[int]]:
    """The ids linked to each of ``ids`` through the association table (one query)."""
    if not ids:
        return {}
    owner_column = col(getattr(table, owner))
    other_column = col(getattr(table, other))
    return grouped(
        session, select(owner_column, other_column).where(owner_column.in_(ids)).order_by(owner_column, other_column)
    )
