"""Keyset paging: a page is the rows just after (or just before) the row a cursor names,
in the list's order ``(sort value, id)``, found through the index on the sort column
whatever the table's size.  An offset would read and skip every row before the page.

A cursor is signed (the application's secret): a changed cursor is refused as one that
was never issued, and so can never carry a value of the wrong type to the database.  It
names the sort it was made for; under another sort it is refused too.

Empty values (``NULL``) sort last in both directions, as the lists show them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import current_app, flash, request
from itsdangerous import BadSignature, URLSafeSerializer

from crm.core.counting import Count
from crm.core.i18n import gettext as _

T = TypeVar("T")
NEXT = "n"
PREVIOUS = "p"
_SALT = "jisr.keyset"


class BadCursor(ValueError):
    """A cursor that was not issued here, or for another order."""


@dataclass(frozen=True)
class Position:
    direction: str  # NEXT: the rows after this one; PREVIOUS: the rows before it
    value: Any
    ident: int


def _tagged(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"D": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, float):
        return {"f": repr(value)}
    return str(value)  # enums and other str-like values


def _untagged(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, text),) = value.items()
    readers: dict[str, Callable[[str], Any]] = {
        "t": datetime.fromisoformat,
        "D": date.fromisoformat,
        "d": Decimal,
        "f": float,
    }
    return readers[tag](text)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def encode(sort: str, position: Position) -> str:
    return str(_serializer().dumps([position.direction, sort, _tagged(position.value), position.ident]))


def decode(cursor: str, sort: str) -> Position:
    """The position ``cursor`` names under ``sort``; :class:`BadCursor` otherwise."""
    try:
        direction, made_for, value, ident = _serializer().loads(cursor)
        position = Position(direction, _untagged(value), int(ident))
    except (BadSignature, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise BadCursor(cursor) from exc
    if made_for != sort or direction not in (NEXT, PREVIOUS):
        raise BadCursor(cursor)
    return position


@dataclass(frozen=True)
class Key:
    """A list's order: ``column`` (ascending or descending, empty values last if
    ``nullable``), ties broken by ``tie`` (the id) in the same direction."""

    column: Any
    tie: Any
    descending: bool
    nullable: bool = False

    def order(self, *, reverse: bool = False) -> list[Any]:
        down = self.descending != reverse
        primary = self.column.desc() if down else self.column.asc()
        if self.nullable:
            primary = primary.nulls_first() if reverse else primary.nulls_last()
        return [primary, self.tie.desc() if down else self.tie.asc()]

    def parts(self, position: Position) -> list[Any]:
        """The rows after ``position`` in the list's order (``NEXT``) or before it
        (``PREVIOUS``), as conditions to read one after the other in the order the page
        is read: each one a single range of the sort column's index.

        A row value, ``(column, id) > (v, i)``, bounds the index scan on both columns: the
        form ``column >= v AND (column > v OR id > i)`` bounded it on the column alone, and
        read every row of the value ``v`` before the position (a stage holds a sixth of the
        leads).  Empty values, which sort last, are a range of their own: one ``OR`` of
        both made the planner read the whole index."""
        forward = position.direction == NEXT
        down = self.descending == forward  # does "beyond" mean smaller values?

        def past(left: Any, right: Any) -> Any:
            return left < right if down else left > right

        if position.value is None:  # among the empty values, which sort last
            within = sa.and_(self.column.is_(None), past(self.tie, position.ident))
            return [within] if forward else [within, self.column.is_not(None)]
        at: Any = (position.value, position.ident)
        if isinstance(position.value, sa.ClauseElement):  # bound parameters, typed: a tuple of its own
            at = sa.tuple_(*at)
        found = past(sa.tuple_(self.column, self.tie), at)
        return [found, self.column.is_(None)] if forward and self.nullable else [found]


@dataclass(frozen=True)
class Parts:
    """Conditions whose rows follow one another in a list's order (:meth:`Key.parts`), for
    :func:`ranged` to read in one query."""

    conditions: tuple[Any, ...]


def ranged(query: Any, condition: Any, order: list[Any], n: Any, offset: Any = 0) -> Any:
    """``query`` (a ``select``) limited to its first ``n`` rows meeting ``condition`` (none:
    all, or :class:`Parts`) in ``order``, after ``offset`` (a page by number, never with
    parts), with their place in that order as the column ``n``; ``n`` and ``offset`` are
    ints or bound parameters.  Parts are read each through its own index range, in one
    query: ``UNION ALL`` of each part's first ``n`` rows, numbered part after part."""
    if not isinstance(condition, Parts):
        found = query.add_columns(sa.func.row_number().over(order_by=order).label("n"))
        if condition is not None:
            found = found.where(condition)
        found = found.order_by(*order).limit(n)
        return found if isinstance(offset, int) and not offset else found.offset(offset)
    branches = []
    for number, part in enumerate(condition.conditions):
        branch = (
            query.add_columns(sa.func.row_number().over(order_by=order).label("n"), sa.literal(number).label("part"))
            .where(part)
            .order_by(*order)
            .limit(n)
            .subquery()
        )
        branches.append(sa.select(*branch.c))
    both = sa.union_all(*branches).subquery("parts")
    place = [both.c.part, both.c.n]
    found = sa.select(
        *(c for c in both.c if c.key not in ("n", "part")), sa.func.row_number().over(order_by=place).label("n")
    )
    return found.order_by(*place).limit(n)


@dataclass(frozen=True)
class WalkedKey(Key):
    """A key whose rows beyond a position are found by the list's own query, not by one
    condition: :meth:`parts` hands the ``fetch`` the position itself."""

    def parts(self, position: Position) -> list[Any]:
        return [position]


@dataclass
class Window(Generic[T]):
    """One page of rows and the cursors of the pages beside it (``None``: there is none)."""

    rows: list[T]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def is_first(self) -> bool:
        return self.previous_cursor is None


def window(
    fetch: Callable[[Any, list[Any], int], Sequence[T]],
    key: Key,
    sort: str,
    *,
    cursor: str | None,
    limit: int,
    position_of: Callable[[T], tuple[Any, int]],
) -> Window[T]:
    """One page of a list by keyset.

    ``fetch(condition, order, n)`` runs the list's query with the extra ``condition``
    (``None`` for the first page) in ``order`` and returns up to ``n`` rows;
    ``position_of(row)`` is the row's ``(sort value, id)``.  A cursor that is not valid
    raises :class:`BadCursor`.  ``condition`` may be :class:`Parts` (a ``fetch`` whose
    keys may be empty reads it with :func:`ranged`).  One query, two when a previous page
    turns out to be the first (it is then served whole, not short)."""
    position = decode(cursor, sort) if cursor else None
    if position is None:
        rows = list(fetch(None, key.order(), limit + 1))
        return _made(rows[:limit], sort, more_after=len(rows) > limit, more_before=False, position_of=position_of)
    forward = position.direction == NEXT
    parts = key.parts(position)
    rows = list(fetch(parts[0] if len(parts) == 1 else Parts(tuple(parts)), key.order(reverse=not forward), limit + 1))
    further = len(rows) > limit
    rows = rows[:limit]
    if forward:
        return _made(rows, sort, more_after=further, more_before=True, position_of=position_of)
    if not further:  # back at the start: the first page, whole
        return window(fetch, key, sort, cursor=None, limit=limit, position_of=position_of)
    rows.reverse()
    return _made(rows, sort, more_after=True, more_before=True, position_of=position_of)


def _made(
    rows: list[T],
    sort: str,
    *,
    more_after: bool,
    more_before: bool,
    position_of: Callable[[T], tuple[Any, int]],
) -> Window[T]:
    if not rows:
        return Window(rows, None, None)
    first_value, first_id = position_of(rows[0])
    last_value, last_id = position_of(rows[-1])
    return Window(
        rows,
        encode(sort, Position(NEXT, last_value, last_id)) if more_after else None,
        encode(sort, Position(PREVIOUS, first_value, first_id)) if more_before else None,
    )


@dataclass
class Listing(Generic[T]):
    """A list's page as the pages show it: its rows, the cursors of the pages beside it,
    and how many rows the list has (exact up to a bound: :mod:`crm.core.counting`)."""

    rows: list[T]
    count: Count
    next_cursor: str | None
    previous_cursor: str | None


def listed(page: Window[T], count: Count, rows: list[Any] | None = None) -> Listing[Any]:
    return Listing(page.rows if rows is None else rows, count, page.next_cursor, page.previous_cursor)


def first_if_lost(make: Callable[[str | None], Listing[T]]) -> Listing[T]:
    """``make`` the page the request's ``cursor`` names; if that cursor was not made here
    for this order (an edited or outdated link), the first page, saying so."""
    cursor = request.args.get("cursor") or None
    try:
        return make(cursor)
    except BadCursor:
        flash(_("That page of the list could not be found: here is its first page."), "warning")
        return make(None)
