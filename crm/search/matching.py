"""Matching typed text against the rows' ``search_text``: the one place that turns what a
person types into words and the words into an indexed SQL condition.  The search page and
the type-ahead pickers both use it.

* :func:`query_words` normalises a query as the rows' texts are normalised (case, French
  accents, Arabic letter variants and diacritics, see :func:`crm.core.text.normalise`),
  splits it into words and takes the Arabic definite article off each word ("الوكالة"
  looks for "وكاله", which is in "وكالة …" and in "الوكالة …").
* :func:`words_match` is the condition "every word occurs in ``model.search_text``", on the
  backend's index: PostgreSQL's GIN trigram indexes (``pg_trgm``) answer ``LIKE '%word%'``;
  SQLite's FTS5 trigram tables (``fts_<table>``, kept by triggers) answer it for words of
  three characters or more.  Both give the same answers; only the index differs.
* :func:`text_match` does both: the condition for what was typed, or ``None`` when
  nothing searchable was typed.

A name typed joined finds it written apart because the rows' texts also hold their names
written joined (:func:`crm.core.text.searchable`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.core.text import normalise, without_article

MAX_WORDS = 8
# Tables searched through an FTS5 table on SQLite (see the migrations); the others (the
# short list of sectors) are read whole.
FTS_TABLES = frozenset({"organisation", "contact", "lead", "meeting"})


def query_words(query: str | None) -> list[str]:
    """The words to look for in ``query``: normalised, without LIKE wildcards or the
    Arabic article, each once, at most ``MAX_WORDS``."""
    words = normalise(query).replace("_", " ").replace("%", " ").split()
    return list(dict.fromkeys(without_article(w) for w in words if w != "|"))[:MAX_WORDS]


def words_match(session: Session, model: Any, words: list[str]) -> Any:
    """A condition on ``model``: every word occurs in its ``search_text``."""
    plain = [col(model.search_text).contains(w, autoescape=True) for w in words]
    table = model.__tablename__
    if session.get_bind().dialect.name != "sqlite" or table not in FTS_TABLES:
        return sa.and_(*plain)
    # FTS5's trigram index answers LIKE for words of 3 characters or more; SQLite 3.40
    # crashes when a shorter pattern is ANDed with them, so short words filter the rows
    # the index found, on the table itself.
    long_words = [w for w in words if len(w) >= 3]
    if not long_words:
        return sa.and_(*plain)
    fts = sa.table(f"fts_{table}", sa.column("rowid"), sa.column("search_text"))
    ids = select(fts.c.rowid).where(*[fts.c.search_text.like(f"%{w}%") for w in long_words])
    short = [condition for w, condition in zip(words, plain, strict=True) if len(w) < 3]
    return sa.and_(col(model.id).in_(ids), *short)


def text_match(session: Session, model: Any, query: str | None) -> Any | None:
    """The condition on ``model`` for what a person typed (an organisation's name in any
    language, its acronym, a contact's name...), or ``None`` when nothing can be searched."""
    words = query_words(query)
    return words_match(session, model, words) if words else None


def exact_first(model: Any, query: str | None) -> Any:
    """An ORDER BY term putting first the rows of which one name is exactly ``query``
    (the organisation whose acronym is "ADD" before those whose names contain "add")."""
    phrase = normalise(query)
    text = col(model.search_text)
    return sa.case(
        (
            sa.or_(
                text == phrase,
                text.startswith(phrase + " | ", autoescape=True),
                text.contains(" | " + phrase + " | ", autoescape=True),
                text.endswith(" | " + phrase, autoescape=True),
            ),
            0,
        ),
        else_=1,
    )
