"""Search across leads, organisations and contacts.

Every searched row keeps a normalised ``search_text`` (case, French accents and Arabic
diacritics / hamza / taa marbuta folded by :func:`crm.core.text.normalise`).  A query is
normalised the same way and split into words; a row matches when every word occurs in
its ``search_text`` (for a lead, in its title or its organisations' names).  The index
behind that ``LIKE '%word%'`` depends on the backend: PostgreSQL uses GIN trigram indexes
(``pg_trgm``), SQLite uses FTS5 trigram tables kept in sync by triggers (see the
migration ``contact search text and search indexes``).
Both give the same answers; only the index differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.text import normalise
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.organisations.models import Contact, Organisation

MAX_WORDS = 8
LIMIT = 20


@dataclass
class SearchResults:
    query: str
    organisations: list[Organisation] = field(default_factory=list)
    contacts: list[tuple[Contact, Organisation]] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.organisations) + len(self.contacts) + len(self.leads)


def search_words(query: str) -> list[str]:
    """The normalised words of ``query`` (LIKE wildcards dropped), at most ``MAX_WORDS``."""
    words = normalise(query).replace("_", " ").replace("%", " ").split()
    return list(dict.fromkeys(w for w in words if w != "|"))[:MAX_WORDS]


def _matching(session: Session, model: Any, words: list[str]) -> Any:
    """A condition on ``model`` that every word occurs in its ``search_text``."""
    plain = [col(model.search_text).contains(w, autoescape=True) for w in words]
    if session.get_bind().dialect.name != "sqlite":
        return sa.and_(*plain)
    # FTS5's trigram index answers LIKE for words of 3 characters or more; SQLite 3.40
    # crashes when a shorter pattern is ANDed with them, so short words filter the rows
    # the index found, on the table itself.
    long_words = [w for w in words if len(w) >= 3]
    if not long_words:
        return sa.and_(*plain)
    fts = sa.table(f"fts_{model.__tablename__}", sa.column("rowid"), sa.column("search_text"))
    ids = select(fts.c.rowid).where(*[fts.c.search_text.like(f"%{w}%") for w in long_words])
    short = [condition for w, condition in zip(words, plain, strict=True) if len(w) < 3]
    return sa.and_(col(model.id).in_(ids), *short)


def _lead_matching(session: Session, word: str) -> Any:
    """A lead matches a word in its title or in its organisations' names, acronyms and
    aliases: "DGSSI" finds DGSSI's leads, "ADD cloud" ADD's cloud leads."""
    organisations = select(Organisation.id).where(_matching(session, Organisation, [word]))
    return sa.or_(
        _matching(session, Lead, [word]),
        col(Lead.ma_organisation_id).in_(organisations),
        col(Lead.us_organisation_id).in_(organisations),
    )


def _exact_first(model: Any, words: list[str]) -> Any:
    """Rows whose name or acronym is exactly the query come first (e.g. "ADD")."""
    phrase = " ".join(words)
    text = col(model.search_text)
    return sa.case(
        (sa.or_(text == phrase, text.startswith(phrase + " | "), text.contains(" | " + phrase + " | ")), 0),
        else_=1,
    )


def search(session: Session, user: User, query: str, *, limit: int = LIMIT) -> SearchResults:
    """Organisations, contacts and leads (only those ``user`` may see) matching ``query``."""
    words = search_words(query)
    results = SearchResults(query=query)
    if not words:
        return results
    results.organisations = list(
        session.exec(
            select(Organisation)
            .where(_matching(session, Organisation, words))
            .order_by(_exact_first(Organisation, words), col(Organisation.acronym), col(Organisation.id))
            .limit(limit)
        ).all()
    )
    contact_rows = session.exec(
        select(Contact, Organisation)
        .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
        .where(_matching(session, Contact, words))
        .order_by(col(Contact.name), col(Contact.id))
        .limit(limit)
    ).all()
    results.contacts = [(contact, org) for contact, org in contact_rows]
    results.leads = list(
        session.exec(
            select(Lead)
            .where(*(_lead_matching(session, w) for w in words), visible_to(user))
            .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
            .limit(limit)
        ).all()
    )
    return results
