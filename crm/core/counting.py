"""Counts that cost the same at any size: exact up to a bound, estimated beyond it.

Counting every matching row on each request reads them all: at a million leads the count
cost more than the page.  A list counts at most ``LIST_EXACT_COUNT_LIMIT`` + 1 rows;
beyond that it says "about N", N being PostgreSQL's own estimate for the query (the
planner's row count, read with ``EXPLAIN``, no row read), or "more than" the bound where
there is no estimate (SQLite)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Count:
    """``value`` rows: exactly; or (``exact`` false) about that many if ``estimated``,
    else more than ``value`` - 1 (the bound, with no estimate to be had)."""

    value: int
    exact: bool = True
    estimated: bool = False


def exact_limit() -> int:
    return int(current_app.config["LIST_EXACT_COUNT_LIMIT"])


def bounded_count(session: Session, query: Any, limit: int | None = None) -> Count:
    """How many rows ``query`` (a ``select`` of the list's rows, any order) has: exact up
    to ``limit`` (the configured bound by default), else an estimate.  One query, two
    past the bound on PostgreSQL."""
    limit = exact_limit() if limit is None else limit
    rows = query.order_by(None).limit(limit + 1).subquery()
    found = int(session.execute(sa.select(sa.func.count()).select_from(rows)).scalar_one())
    return count_of(session, found, query, limit)


def count_column(query: Any, most: Any, name: str = "list_total") -> Any:
    """How many rows ``query`` has, reading at most ``most`` (the bound + 1; an int or a
    bound parameter), as a column for a page's own statement: an uncorrelated subquery,
    read once per statement, so a page and its count are one round trip.  Read its value
    with :func:`count_of`."""
    rows = query.order_by(None).limit(most).subquery()
    return sa.select(sa.func.count()).select_from(rows).scalar_subquery().label(name)


def count_of(session: Session, found: int, query: Any, limit: int, key: Hashable | None = None) -> Count:
    """The :class:`Count` of ``found`` rows counted up to ``limit`` + 1: past the bound,
    the planner's estimate of ``query`` (a query, or a function making it: see
    :func:`planner_rows` for ``key``)."""
    if found <= limit:
        return Count(found)
    estimate = planner_rows(session, query if callable(query) else query.order_by(None), key=key)
    if estimate is None:
        return Count(limit + 1, exact=False)
    return Count(max(estimate, limit + 1), exact=False, estimated=True)


ESTIMATE_SECONDS = 30.0  # how long a process reuses an estimate of the same query
_ESTIMATES: dict[Hashable, tuple[float, int | None]] = {}
_ESTIMATES_KEPT = 512


def _estimate_key(bind: Any, query: Any) -> Hashable | None:
    """The query's structure and values (SQLAlchemy's own cache key), or None."""
    try:
        found = query._generate_cache_key()
        key = (str(bind.engine.url), found.key, tuple(_frozen(p.effective_value) for p in found.bindparams))
        hash(key)
    except Exception:  # a value that cannot be a key: no reuse
        return None
    return key


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple | set | frozenset) else value


def planner_rows(session: Session, query: Any, key: Hashable | None = None) -> int | None:
    """PostgreSQL's estimate of ``query``'s rows (``None`` elsewhere, or if it cannot be had).

    An estimate is a planner's guess from statistics that change slowly: a process reuses
    one for :data:`ESTIMATE_SECONDS` rather than compile and plan the same query again
    on every page of a long list.  ``key``: what the estimate is kept under, if the caller
    has one cheaper to make than the query's own (``query`` may then be a function making
    it, called only if the estimate is not kept)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    if key is None:  # the query's own key: it is made now
        query = query() if callable(query) else query
        key = _estimate_key(bind, query)
    now = time.monotonic()
    kept = _ESTIMATES.get(key) if key is not None else None
    if kept is not None and now - kept[0] < ESTIMATE_SECONDS:
        return kept[1]
    found = _plan_rows(session, bind, query() if callable(query) else query)
    if key is not None:
        if len(_ESTIMATES) >= _ESTIMATES_KEPT:
            _ESTIMATES.pop(next(iter(_ESTIMATES)))
        _ESTIMATES[key] = (now, found)
    return found


def _plan_rows(session: Session, bind: Any, query: Any) -> int | None:
    try:
        sql = str(query.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # a value with no literal form: no estimate, nothing sent
        log.debug("no literal form for an estimate", exc_info=True)
        return None
    plan = session.execute(sa.text("EXPLAIN (FORMAT JSON) " + sql.replace(":", r"\:"))).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
