"""Search across leads, organisations, contacts and meetings: one query per group, each
returning its first rows and the number of all its matches.

A query matches a row when every word of it (:func:`crm.search.matching.query_words`)
occurs in the row's ``search_text``.  A lead matches a word through its title, or through
the names, acronyms and aliases of its two organisations, the people of those
organisations, or its sector: "ADD" lists ADD's leads, "ADD cloud" ADD's cloud leads.
(Not through the people of the meeting it was born in: one ADD person at a meeting of
five organisations would make "ADD" list the other four's leads.)  Those are found at query time through the indexed
``search_text`` of each (not copied into the lead), so a renamed organisation finds its
leads at once.  Confidential leads are left out exactly as in the lead list
(:func:`crm.leads.queries.visible_to`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Contact, Organisation
from crm.reference.models import Sector
from crm.search.matching import MAX_WORDS, exact_first, query_words, words_match

__all__ = ["LEAD_COUNT_CAP", "LIMIT", "MAX_WORDS", "Group", "SearchResults", "search", "search_words"]

LIMIT = 20
LEAD_COUNT_CAP = 100
search_words = query_words  # the name the tests and older callers know


@dataclass
class Group:
    """The first rows of one kind of result and how many match in all."""

    rows: list[Any] = field(default_factory=list)
    count: int = 0
    capped: bool = False  # count is a lower bound: more than LEAD_COUNT_CAP match

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass
class SearchResults:
    query: str
    leads: Group = field(default_factory=Group)  # rows: (lead, its Moroccan and its US organisation)
    organisations: Group = field(default_factory=Group)
    contacts: Group = field(default_factory=Group)  # rows: (contact, organisation)
    meetings: Group = field(default_factory=Group)  # rows: (meeting, mission or None)

    @property
    def total(self) -> int:
        return self.leads.count + self.organisations.count + self.contacts.count + self.meetings.count

    @property
    def capped(self) -> bool:
        return self.leads.capped


def _lead_word(session: Session, word: str) -> Any:
    """A lead matches ``word`` in its title, its organisations (names, acronyms, aliases,
    their people) or its sector."""
    contacts = select(Contact.id).where(words_match(session, Contact, [word]))
    organisations: Any = sa.union(
        select(Organisation.id).where(words_match(session, Organisation, [word])),
        select(Contact.organisation_id).where(col(Contact.id).in_(contacts)),
    )
    sectors = select(Sector.id).where(words_match(session, Sector, [word]))
    return sa.or_(
        words_match(session, Lead, [word]),
        col(Lead.ma_organisation_id).in_(organisations),
        col(Lead.us_organisation_id).in_(organisations),
        col(Lead.sector_id).in_(sectors),
    )


def lead_matches(session: Session, query: str | None) -> Any | None:
    """The condition "the lead matches every word of ``query``" (through its title, its
    organisations and their people, its sector), or ``None`` when nothing can be searched."""
    words = query_words(query)
    return sa.and_(*(_lead_word(session, w) for w in words)) if words else None


def _lead_candidates(session: Session, words: list[str]) -> bool:
    """Whether each word finds something a lead could match it through: a lead's title, an
    organisation, a contact or a sector.  Each test is one indexed look-up; when a word finds
    nothing, no lead can match and the walk along the leads (which, finding nothing, would
    read them all) is not run."""

    def somewhere(word: str) -> Any:
        return sa.or_(
            *(
                sa.exists(select(model.id).where(words_match(session, model, [word])))
                for model in (Lead, Organisation, Contact, Sector)
            )
        )

    return bool(session.exec(select(sa.and_(*(somewhere(w) for w in words)))).one())


def _leads_query(session: Session, user: User, words: list[str]) -> Any:
    """The newest matching leads, counted up to ``LEAD_COUNT_CAP + 1``.

    The leads are read newest first along ``ix_lead_updated_at`` until enough match, so a
    word found in thousands of leads costs little; counting them all would read them all
    (hundreds of milliseconds for a word in a fifth of 100,000 leads), so the count stops past
    the cap and the page says "more than 100"."""
    newest = (
        select(Lead.id, Lead.updated_at)
        .where(*(_lead_word(session, w) for w in words), visible_to(user))
        .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
        .limit(LEAD_COUNT_CAP + 1)
        .subquery()
    )
    ma, us = aliased(Organisation), aliased(Organisation)
    return (
        select(Lead, ma, us, func.count().over())
        .select_from(newest)
        .join(Lead, col(Lead.id) == newest.c.id)
        .join(ma, col(ma.id) == col(Lead.ma_organisation_id))
        .join(us, col(us.id) == col(Lead.us_organisation_id))
        .order_by(newest.c.updated_at.desc(), newest.c.id.desc())
    )


def _group(session: Session, query: Any, limit: int) -> Group:
    """Run ``query`` (whose last column is ``count(*) OVER ()``) for its first ``limit`` rows."""
    rows = session.exec(query.limit(limit)).all()
    if not rows:
        return Group()
    return Group(rows=[row[0] if len(row) == 2 else tuple(row[:-1]) for row in rows], count=int(rows[0][-1]))


def search(session: Session, user: User, query: str, *, limit: int = LIMIT) -> SearchResults:
    """Leads (only those ``user`` may see), organisations, contacts and meetings matching
    ``query``: five statements whatever the number of rows, four when a word finds nothing a
    lead could match."""
    words = query_words(query)
    results = SearchResults(query=query)
    if not words:
        return results
    total = func.count().over()
    if _lead_candidates(session, words):
        results.leads = _group(session, _leads_query(session, user, words), limit)
    results.leads.capped = results.leads.count > LEAD_COUNT_CAP
    results.organisations = _group(
        session,
        select(Organisation, total)
        .where(words_match(session, Organisation, words))
        .order_by(exact_first(Organisation, query), col(Organisation.acronym), col(Organisation.id)),
        limit,
    )
    results.contacts = _group(
        session,
        select(Contact, Organisation, total)
        .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
        .where(words_match(session, Contact, words))
        .order_by(exact_first(Contact, query), col(Contact.name), col(Contact.id)),
        limit,
    )
    results.meetings = _group(
        session,
        select(Meeting, Mission, total)
        .outerjoin(Mission, col(Mission.id) == col(Meeting.mission_id))
        .where(words_match(session, Meeting, words))
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc()),
        limit,
    )
    return results
