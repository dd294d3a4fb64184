"""Keyset paging and bounded counts: walking a list page by page, forwards then back, meets
every row once in the list's order, ties and empty values included; counts are exact up
to the bound and estimated beyond it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.core.counting import bounded_count
from crm.core.keyset import NEXT, BadCursor, Key, Position, decode, encode, ranged, window
from crm.core.time import utcnow
from crm.leads.models import Lead
from tests.factories import make_lead, make_user

SORTS = {
    "updated": lambda: col(Lead.updated_at),
    "title": lambda: func.lower(col(Lead.title)),
    "value": lambda: col(Lead.estimated_value),
}


def _leads(session: Session) -> None:
    owner = make_user(session)
    first = make_lead(session, owner=owner)
    now = utcnow()
    for n in range(23):
        value = None if n % 4 == 0 else Decimal(n % 5) * 1000  # ties and empty values
        make_lead(
            session,
            owner=owner,
            title=f"Lead {n % 6}",  # ties again
            estimated_value=value,
            currency="MAD" if value is not None else None,
            ma_organisation_id=first.ma_organisation_id,
            us_organisation_id=first.us_organisation_id,
        )
    for n, lead in enumerate(session.exec(select(Lead).order_by(col(Lead.id))).all()):
        lead.updated_at = now - timedelta(hours=n // 3)  # three leads at each instant
    session.commit()


def _walk(session: Session, sort: str, descending: bool, limit: int) -> list[int]:
    """Every row's id, page after page; then checks that each page is found again going back."""
    key = Key(SORTS[sort](), col(Lead.id), descending, nullable=sort == "value")

    def fetch(condition: Any, order: list[Any], n: int) -> list[Any]:
        return list(session.exec(ranged(select(Lead.id, SORTS[sort]().label("k")), condition, order, n)).all())

    def position(row: Any) -> tuple[Any, int]:
        return row.k, row.id

    pages = [window(fetch, key, sort, cursor=None, limit=limit, position_of=position)]
    while pages[-1].next_cursor is not None:
        pages.append(window(fetch, key, sort, cursor=pages[-1].next_cursor, limit=limit, position_of=position))
    page = pages[-1]
    for earlier in reversed(pages[:-1]):
        page = window(fetch, key, sort, cursor=page.previous_cursor, limit=limit, position_of=position)
        assert [row.id for row in page.rows] == [row.id for row in earlier.rows]
    assert page.is_first
    return [row.id for p in pages for row in p.rows]


@pytest.mark.parametrize("sort", sorted(SORTS))
@pytest.mark.parametrize("descending", [True, False])
def test_pages_by_keyset_meet_every_row_once_in_order(session: Session, sort: str, descending: bool) -> None:
    _leads(session)
    key = Key(SORTS[sort](), col(Lead.id), descending, nullable=sort == "value")
    expected = list(session.exec(select(Lead.id).order_by(*key.order())).all())
    for limit in (1, 5, 7, 24):
        assert _walk(session, sort, descending, limit) == expected, (sort, descending, limit)


def test_a_changed_or_foreign_cursor_is_refused(app: Any) -> None:
    with app.test_request_context():
        good = encode("updated", Position(NEXT, utcnow(), 7))
        assert decode(good, "updated").ident == 7
        with pytest.raises(BadCursor):
            decode(good, "title")  # made for another order
        with pytest.raises(BadCursor):
            decode(good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1], "updated")
        for junk in ("", "x", "a.b", "W10", "\u0645"):
            with pytest.raises(BadCursor):
                decode(junk, "updated")


def test_a_count_is_exact_up_to_the_bound_and_an_estimate_beyond(session: Session, backend: str) -> None:
    _leads(session)
    every = select(Lead.id)
    assert bounded_count(session, every, limit=100).value == 24
    assert bounded_count(session, every, limit=24).exact
    beyond = bounded_count(session, every.where(col(Lead.title).like("Lead%")), limit=10)
    assert not beyond.exact and beyond.value >= 11
    session.execute(sa.text("ANALYZE lead") if backend == "postgresql" else sa.text("ANALYZE"))
    estimated = bounded_count(session, every, limit=10)
    assert not estimated.exact
    if backend == "postgresql":
        assert 11 <= estimated.value <= 100  # the planner's figure, from the table's statistics


def test_an_estimate_is_reused_for_the_same_query_and_values(session: Session, backend: str, app: Any) -> None:
    """Past the bound a list says "about N" from the planner; a process plans the same
    query with the same values once in a while, not on every page."""
    from tests.test_web import count_queries

    _leads(session)
    session.execute(sa.text("ANALYZE lead") if backend == "postgresql" else sa.text("ANALYZE"))
    every = select(Lead.id).where(col(Lead.title).like("Lead%"))
    with count_queries(app) as first:
        found = bounded_count(session, every, limit=10)
    with count_queries(app) as again:
        assert bounded_count(session, every, limit=10) == found
    with count_queries(app) as other:
        bounded_count(session, select(Lead.id).where(col(Lead.title).like("Lea%")), limit=10)
    explains = [len([s for s in found_ if s.startswith("EXPLAIN")]) for found_ in (first, again, other)]
    assert explains == ([1, 0, 1] if backend == "postgresql" else [0, 0, 0])
