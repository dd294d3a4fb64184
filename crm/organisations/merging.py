"""Merging a duplicate organisation into the one that stays.

Everything that names the duplicate is moved to the survivor: leads (each with its
``lead.updated`` event, so the lead's timeline tells it), contacts (``contact.updated``),
the meetings and missions it took part in, the digest subscriptions of its people and
those that follow it, and saved lead filters.  The duplicate's names, acronym and aliases
become the survivor's aliases, so search and imports still find it by them; its sectors
join the survivor's.  Then the duplicate is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.events import record_event
from crm.core.text import normalise
from crm.core.time import utcnow
from crm.digests.models import Subscription
from crm.leads.models import Lead, SavedFilter
from crm.missions.models import MeetingOrganisation, MissionOrganiser
from crm.organisations.models import Contact, Organisation, OrganisationSector

FILTER_KEYS = ("ma_organisation_ids", "us_organisation_ids")
QUERY_KEYS = ("ma", "us")


@dataclass
class MergePlan:
    """What a merge moves: shown before it is confirmed, recorded once it is done."""

    leads: list[int] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    meetings: list[int] = field(default_factory=list)
    missions: list[int] = field(default_factory=list)
    subscriptions: list[int] = field(default_factory=list)
    saved_filters: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # become the survivor's aliases

    def to_json(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "contacts": self.contacts,
            "meetings": self.meetings,
            "missions": self.missions,
            "subscriptions": self.subscriptions,
            "saved_filters": self.saved_filters,
            "new_aliases": self.names,
        }


def _ids(session: Session, column: Any, *where: Any) -> list[int]:
    return sorted(int(v) for v in session.exec(select(column).where(*where).distinct()).all())


def _names_to_keep(keep: Organisation, duplicate: Organisation) -> list[str]:
    known = {normalise(n) for n in (keep.name_ar, keep.name_fr, keep.name_en, keep.acronym or "", *keep.aliases) if n}
    found: list[str] = []
    for name in (duplicate.acronym or "", duplicate.name_fr, duplicate.name_en, duplicate.name_ar, *duplicate.aliases):
        if name and normalise(name) not in known:
            known.add(normalise(name))
            found.append(name)
    return found


def _mentions(filters: Any, org_id: int) -> bool:
    return any(org_id in (filters.get(key) or []) for key in FILTER_KEYS)


def _query_mentions(query: str, org_id: int) -> bool:
    return any(key in QUERY_KEYS and value == str(org_id) for key, value in parse_qsl(query))


def plan_merge(session: Session, keep: Organisation, duplicate: Organisation) -> MergePlan:
    dup = int(duplicate.id or 0)
    subscriptions = session.exec(select(Subscription.id, Subscription.organisation_id, Subscription.filters)).all()
    return MergePlan(
        leads=_ids(session, Lead.id, sa.or_(col(Lead.ma_organisation_id) == dup, col(Lead.us_organisation_id) == dup)),
        contacts=_ids(session, Contact.id, Contact.organisation_id == dup),
        meetings=_ids(session, MeetingOrganisation.meeting_id, MeetingOrganisation.organisation_id == dup),
        missions=_ids(session, MissionOrganiser.mission_id, MissionOrganiser.organisation_id == dup),
        subscriptions=sorted(
            int(s_id or 0) for s_id, org_id, filters in subscriptions if org_id == dup or _mentions(filters or {}, dup)
        ),
        saved_filters=sorted(
            int(f_id or 0)
            for f_id, query in session.exec(select(SavedFilter.id, SavedFilter.query)).all()
            if _query_mentions(query, dup)
        ),
        names=_names_to_keep(keep, duplicate),
    )


def _move_leads(session: Session, plan: MergePlan, duplicate: Organisation, keep: int, actor: User) -> None:
    now = utcnow()
    dup, duplicate_name = int(duplicate.id or 0), duplicate.short_name()
    leads = session.exec(select(Lead).where(col(Lead.id).in_(plan.leads))).all() if plan.leads else []
    for lead in leads:
        changes = {
            column: [dup, keep]
            for column in ("ma_organisation_id", "us_organisation_id")
            if getattr(lead, column) == dup
        }
        for column in changes:
            setattr(lead, column, keep)
        lead.updated_at = now
        record_event(
            session,
            "lead.updated",
            lead,
            actor=actor,
            lead_id=lead.id,
            payload={"changes": changes, "merge": True, "names": {str(dup): duplicate_name}},
        )


def _move_contacts(session: Session, plan: MergePlan, dup: int, keep: int, actor: User) -> None:
    now = utcnow()
    contacts = session.exec(select(Contact).where(col(Contact.id).in_(plan.contacts))).all() if plan.contacts else []
    for contact in contacts:
        contact.organisation_id = keep
        contact.updated_at = now
        record_event(
            session,
            "contact.updated",
            contact,
            actor=actor,
            payload={"changes": {"organisation_id": [dup, keep]}, "merge": True},
        )


def _move_links(session: Session, model: Any, owner_column: str, dup: int, keep: int) -> None:
    """Re-point a link table's rows from the duplicate to the survivor, once each."""
    owner = getattr(model, owner_column)
    already = select(owner).where(model.organisation_id == keep)
    session.execute(sa.delete(model).where(model.organisation_id == dup, owner.in_(already)))
    session.execute(sa.update(model).where(model.organisation_id == dup).values(organisation_id=keep))


def _move_subscriptions(session: Session, plan: MergePlan, dup: int, keep: int) -> None:
    if not plan.subscriptions:
        return
    for subscription in session.exec(select(Subscription).where(col(Subscription.id).in_(plan.subscriptions))).all():
        if subscription.organisation_id == dup:
            subscription.organisation_id = keep
        filters = dict(subscription.filters or {})
        for key in FILTER_KEYS:
            if dup in (filters.get(key) or []):
                filters[key] = sorted({keep if v == dup else v for v in filters[key]})
        subscription.filters = filters


def _move_saved_filters(session: Session, plan: MergePlan, dup: int, keep: int) -> None:
    if not plan.saved_filters:
        return
    for saved in session.exec(select(SavedFilter).where(col(SavedFilter.id).in_(plan.saved_filters))).all():
        pairs = [(k, str(keep) if k in QUERY_KEYS and v == str(dup) else v) for k, v in parse_qsl(saved.query)]
        saved.query = urlencode(list(dict.fromkeys(pairs)))


def carry_out(session: Session, plan: MergePlan, keep: Organisation, duplicate: Organisation, actor: User) -> None:
    dup, survivor = int(duplicate.id or 0), int(keep.id or 0)
    _move_leads(session, plan, duplicate, survivor, actor)
    _move_contacts(session, plan, dup, survivor, actor)
    session.flush()
    _move_links(session, MeetingOrganisation, "meeting_id", dup, survivor)
    _move_links(session, MissionOrganiser, "mission_id", dup, survivor)
    _move_links(session, OrganisationSector, "sector_id", dup, survivor)
    _move_subscriptions(session, plan, dup, survivor)
    _move_saved_filters(session, plan, dup, survivor)
    for name in ("name_ar", "name_fr", "name_en", "acronym", "website"):
        if not getattr(keep, name) and getattr(duplicate, name):
            setattr(keep, name, getattr(duplicate, name))
    taken = {normalise(getattr(keep, n) or "") for n in ("name_ar", "name_fr", "name_en", "acronym")}
    keep.aliases = [*keep.aliases, *(n for n in plan.names if normalise(n) not in taken)]
    keep.updated_at = utcnow()
    session.flush()
    session.expunge(duplicate)
    session.execute(sa.delete(Organisation).where(col(Organisation.id) == dup))
