"""What each searched row's ``search_text`` holds, in one place: the operations that write
the rows, the rebuild command and the migrations all build it here.

Each builder takes the row (a model instance, or a row of a plain ``SELECT`` in a
migration: only the attributes named are read).

A lead's ``search_text`` is its title alone, normalised: the import recognises a lead by
it (``crm.exchange.plan_leads``).  Its organisations, their contacts and its sector find it
at query time, through their own indexed ``search_text``
(:mod:`crm.search.queries`), so a renamed organisation finds its leads at once, with
nothing to copy into thousands of leads.
"""

from __future__ import annotations

from typing import Any

from crm.core.text import search_blob, searchable


def organisation_text(org: Any) -> str:
    """Acronym, names in the three languages and aliases, each also written joined."""
    return searchable(org.acronym, org.name_ar, org.name_fr, org.name_en, *(org.aliases or ()))


def contact_text(contact: Any) -> str:
    """Name, job title and email; nothing once the person's data was erased."""
    if contact.erased_at is not None:
        return ""
    return searchable(contact.name, contact.title, contact.email)


def meeting_text(meeting: Any) -> str:
    return searchable(meeting.title, meeting.place)


def sector_text(sector: Any) -> str:
    return searchable(sector.name_ar, sector.name_fr, sector.name_en)


def lead_text(lead: Any) -> str:
    return search_blob(lead.title)
