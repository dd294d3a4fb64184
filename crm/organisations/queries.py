"""Reads about organisations."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlmodel import Session, col, exists, func, or_, select

from crm.accounts.models import User
from crm.core.counting import bounded_count
from crm.core.db import pk
from crm.core.keyset import Key, Listing, listed, window
from crm.core.text import normalise
from crm.leads.models import Lead, Stage
from crm.leads.queries import visible_to
from crm.missions.models import Meeting, MeetingContact, MeetingOrganisation, Mission, MissionDelegate
from crm.organisations.models import Contact, Country, Organisation, OrganisationKind, OrganisationSector
from crm.reference.models import Sector


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


def organisation_conditions(
    *, country: Country | None = None, kind: OrganisationKind | None = None, sector_id: int | None = None
) -> list[Any]:
    """The organisation list's filters as conditions (the page and its export share them)."""
    conditions: list[Any] = []
    if country is not None:
        conditions.append(Organisation.country == country)
    if kind is not None:
        conditions.append(Organisation.kind == kind)
    if sector_id is not None:
        conditions.append(
            exists().where(
                col(OrganisationSector.organisation_id) == col(Organisation.id),
                col(OrganisationSector.sector_id) == sector_id,
            )
        )
    return conditions


def organisation_sort_key() -> Any:
    """The organisation list's order: by acronym, else English name (``ix_organisation_sort``)."""
    return func.lower(func.coalesce(Organisation.acronym, Organisation.name_en, ""))


def organisation_page(
    session: Session,
    *,
    country: Country | None = None,
    kind: OrganisationKind | None = None,
    sector_id: int | None = None,
    cursor: str | None = None,
    per_page: int = 50,
) -> Listing[Organisation]:
    """One page of organisations by keyset; a cursor not made here raises ``BadCursor``."""
    conditions = organisation_conditions(country=country, kind=kind, sector_id=sector_id)
    key = Key(organisation_sort_key(), col(Organisation.id), descending=False)

    def fetch(condition: Any, order: list[Any], n: int) -> list[Any]:
        query = select(Organisation, key.column).where(*conditions)
        if condition is not None:
            query = query.where(condition)
        return list(session.exec(query.order_by(*order).limit(n)).all())

    found = window(fetch, key, "name", cursor=cursor, limit=per_page, position_of=lambda row: (row[1], row[0].id))
    count = bounded_count(session, select(col(Organisation.id)).where(*conditions))
    return listed(found, count, [org for org, _key in found.rows])


def sectors_of(session: Session, org_ids: list[int]) -> dict[int, list[Sector]]:
    """The sectors of each organisation, in one query."""
    found: dict[int, list[Sector]] = {org_id: [] for org_id in org_ids}
    if not org_ids:
        return found
    rows = session.exec(
        select(OrganisationSector.organisation_id, Sector)
        .join(Sector, col(Sector.id) == col(OrganisationSector.sector_id))
        .where(col(OrganisationSector.organisation_id).in_(org_ids))
        .order_by(col(Sector.position), col(Sector.code))
    ).all()
    for org_id, sector in rows:
        found[org_id].append(sector)
    return found


def active_sectors(session: Session) -> list[Sector]:
    return list(
        session.exec(
            select(Sector).where(col(Sector.is_active).is_(True)).order_by(col(Sector.position), col(Sector.code))
        ).all()
    )


class LeadLine(NamedTuple):
    """What an organisation's page shows of each of its leads."""

    id: int
    title: str
    stage: Stage
    confidential: bool


def organisation_leads(session: Session, user: User, org_id: int) -> list[LeadLine]:
    """The leads on either side of which the organisation stands, as ``user`` may see them.

    Only the four columns the page shows: an institution can have thousands of leads, and
    loading each as a whole ``Lead`` took longer than the query."""
    rows = session.exec(
        select(col(Lead.id), col(Lead.title), col(Lead.stage), col(Lead.confidential))
        .where(
            or_(Lead.ma_organisation_id == org_id, Lead.us_organisation_id == org_id),
            visible_to(user),
        )
        .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
    ).all()
    return [LeadLine(lead_id or 0, title, stage, confidential) for lead_id, title, stage, confidential in rows]


def organisation_contacts(session: Session, org_id: int) -> list[Contact]:
    return list(
        session.exec(
            select(Contact).where(Contact.organisation_id == org_id).order_by(col(Contact.name), col(Contact.id))
        ).all()
    )


def organisation_meetings(session: Session, org_id: int) -> list[Meeting]:
    return list(
        session.exec(
            select(Meeting)
            .join(MeetingOrganisation, col(MeetingOrganisation.meeting_id) == col(Meeting.id))
            .where(MeetingOrganisation.organisation_id == org_id)
            .order_by(col(Meeting.starts_at).desc())
        ).all()
    )


def contact_meetings(session: Session, contact_id: int) -> list[Meeting]:
    """The meetings the person attended, the latest first."""
    return list(
        session.exec(
            select(Meeting)
            .join(MeetingContact, col(MeetingContact.meeting_id) == col(Meeting.id))
            .where(MeetingContact.contact_id == contact_id)
            .order_by(col(Meeting.starts_at).desc())
        ).all()
    )


def contact_missions(session: Session, contact_id: int) -> list[Mission]:
    """The missions the person travelled with as a delegate, the latest first."""
    return list(
        session.exec(
            select(Mission)
            .join(MissionDelegate, col(MissionDelegate.mission_id) == col(Mission.id))
            .where(MissionDelegate.contact_id == contact_id)
            .order_by(col(Mission.starts_on).desc())
        ).all()
    )


def contact_page(
    session: Session, *, organisation_id: int | None = None, cursor: str | None = None, per_page: int = 50
) -> Listing[tuple[Contact, Organisation]]:
    """One page of contacts by name, by keyset (``ix_contact_sort``)."""
    conditions: list[Any] = []
    if organisation_id is not None:
        conditions.append(Contact.organisation_id == organisation_id)
    key = Key(func.lower(Contact.name), col(Contact.id), descending=False)

    def fetch(condition: Any, order: list[Any], n: int) -> list[Any]:
        query = (
            select(Contact, Organisation, key.column)
            .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
            .where(*conditions)
        )
        if condition is not None:
            query = query.where(condition)
        return list(session.exec(query.order_by(*order).limit(n)).all())

    found = window(fetch, key, "name", cursor=cursor, limit=per_page, position_of=lambda row: (row[2], row[0].id))
    count = bounded_count(session, select(col(Contact.id)).where(*conditions))
    return listed(found, count, [(contact, org) for contact, org, _key in found.rows])


def organisation_choices(session: Session) -> list[tuple[int, str]]:
    orgs = session.exec(select(Organisation).order_by(col(Organisation.country), col(Organisation.name_en))).all()
    return [(pk(o), f"{o.name()}" + (f" ({o.acronym})" if o.acronym else "")) for o in orgs]
