"""Reads about organisations."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select

from crm.core.text import normalise
from crm.organisations.models import Organisation


def find_similar_organisations(
    session: Session, *names: str | None, exclude_id: int | None = None
) -> list[Organisation]:
    """Organisations whose names, acronym or aliases match any of ``names`` (normalised)."""
    terms = [normalise(n) for n in names if n and normalise(n)]
    if not terms:
        return []
    conditions = []
    for term in terms:
        conditions.append(col(Organisation.search_text) == term)
        conditions.append(col(Organisation.search_text).startswith(term + " | ", autoescape=True))
        conditions.append(col(Organisation.search_text).endswith(" | " + term, autoescape=True))
        conditions.append(col(Organisation.search_text).contains(" | " + term + " | ", autoescape=True))
    query = select(Organisation).where(or_(*conditions))
    if exclude_id is not None:
        query = query.where(Organisation.id != exclude_id)
    return list(session.exec(query.order_by(col(Organisation.id))).all())
