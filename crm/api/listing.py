"""Lists: one page of rows, their total and an allow-listed order, in two queries.

A list endpoint builds its filtered ``select`` and names its sortable columns; the sort
parameter picks one of them (``-`` for descending), ties broken by id, so a page never
depends on the database's whim.  Related rows are then loaded for the whole page at
once (one query per relation), so the number of queries never grows with the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlmodel import Session, col

T = TypeVar("T")


@dataclass
class Listed:
    rows: list[Any]
    total: int
    page: int
    limit: int


def order_clauses(sort: str, columns: Mapping[str, Any], tie: Any, nullable: Iterable[str] = ()) -> list[Any]:
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    column = columns[key]
    primary = column.desc() if descending else column.asc()
    if key in set(nullable):
        primary = primary.nulls_last()
    return [primary, tie.desc() if descending else tie.asc()]


def list_page(session: Session, query: Any, *, page: int, limit: int, order: Sequence[Any]) -> Listed:
    """``query``'s rows on ``page`` (``limit`` each) and the count of all of them."""
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = list(session.execute(query.order_by(*order).offset((page - 1) * limit).limit(limit)).all())
    return Listed(rows=rows, total=int(total), page=page, limit=limit)


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
