"""The lead, organisation and contact lists as spreadsheet rows: headers and values in the
reader's language, instants in the reader's time zone, and a fixed number of queries
whatever the number of rows. The headers are those an import recognises, so an export
can be edited and imported back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import wall_time
from crm.exchange.fields import spec
from crm.exchange.models import ImportKind
from crm.leads.filters import LeadFilter, filter_conditions, order_by
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS, PRIORITY_LABELS, STAGE_LABELS
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.missions.models import Mission
from crm.organisations.labels import country_label, kind_label
from crm.organisations.models import Contact, Country, Organisation, OrganisationKind, OrganisationSector
from crm.organisations.queries import organisation_conditions
from crm.reference.models import Sector

BATCH = 500


@dataclass
class Export:
    name: str  # the file name's subject: "leads", "organisations", "contacts"
    title: str  # the sheet's title, translated
    headers: list[str]
    rows: Iterator[list[Any]]


def _label(kind: ImportKind, name: str) -> str:
    return str(spec(kind, name).label)


def _local(instant: datetime | None, zone: str) -> datetime | None:
    return wall_time(instant, zone) if instant is not None else None


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


class _LeadNames:
    """What the lead export writes for the rows a lead refers to and for its enumerations,
    read and translated once per export (four queries) rather than once per lead."""

    def __init__(self, session: Session, conditions: list[Any]) -> None:
        def used(column: Any) -> Any:
            return select(column).where(*conditions)

        self.organisations = {
            pk(org): org.short_name()
            for org in session.exec(
                select(Organisation).where(
                    col(Organisation.id).in_(used(Lead.ma_organisation_id))
                    | col(Organisation.id).in_(used(Lead.us_organisation_id))
                )
            )
        }
        self.users = {pk(u): u for u in session.exec(select(User).where(col(User.id).in_(used(Lead.owner_id))))}
        self.sectors: dict[int | None, str] = {
            pk(s): s.name() for s in session.exec(select(Sector).where(col(Sector.id).in_(used(Lead.sector_id))))
        }
        self.missions: dict[int | None, str] = {
            pk(m): m.name for m in session.exec(select(Mission).where(col(Mission.id).in_(used(Lead.mission_id))))
        }
        self.stages = {stage: str(label) for stage, label in STAGE_LABELS.items()}
        self.partnership_types = {kind: str(label) for kind, label in PARTNERSHIP_TYPE_LABELS.items()}
        self.priorities = {priority: str(label) for priority, label in PRIORITY_LABELS.items()}
        self.yes, self.no = _yes_no(True), _yes_no(False)


def lead_export(session: Session, user: User, lead_filter: LeadFilter, now: datetime) -> Export:
    """Every lead of the filtered list that ``user`` may see, in the list's order: one query
    for the leads, and four for the names they refer to."""
    leads = ImportKind.LEADS
    headers = [
        *(_label(leads, n) for n in ("id", "title", "ma_organisation", "us_organisation", "partnership_type")),
        *(_label(leads, n) for n in ("stage", "sector", "owner")),
        str(_l("Owner email")),
        *(_label(leads, n) for n in ("priority", "estimated_value", "currency", "probability", "expected_close_on")),
        *(_label(leads, n) for n in ("confidential", "mission")),
        _("Next follow-up"),
        _("Created"),
        _("Updated"),
        _label(leads, "description"),
    ]
    conditions = [visible_to(user), *filter_conditions(lead_filter, now=now, zone_name=user.timezone)]
    owner_name = func.coalesce(func.nullif(User.name, ""), User.email)
    query = (
        select(Lead, col(Lead.next_due_at))  # type: ignore[call-overload]
        .join(User, User.id == Lead.owner_id)  # type: ignore[arg-type]
        .where(*conditions)
        .order_by(*order_by(lead_filter, owner_name))
        .execution_options(yield_per=BATCH)
    )
    names = _LeadNames(session, conditions)
    zone = user.timezone

    def rows() -> Iterator[list[Any]]:
        for lead, due in session.exec(query):
            owner = names.users[lead.owner_id]
            yield [
                lead.id,
                lead.title,
                names.organisations[lead.ma_organisation_id],
                names.organisations[lead.us_organisation_id],
                names.partnership_types[lead.partnership_type],
                names.stages[lead.stage],
                names.sectors.get(lead.sector_id),
                owner.display_name,
                owner.email,
                names.priorities[lead.priority],
                lead.estimated_value,
                lead.currency.value if lead.currency else None,
                lead.probability,
                lead.expected_close_on,
                names.yes if lead.confidential else names.no,
                names.missions.get(lead.mission_id),
                _local(due, zone),
                _local(lead.created_at, zone),
                _local(lead.updated_at, zone),
                lead.description or None,
            ]

    return Export("leads", _("Leads"), headers, rows())


def organisation_export(
    session: Session,
    user: User,
    *,
    country: Country | None = None,
    kind: OrganisationKind | None = None,
    sector_id: int | None = None,
) -> Export:
    """The organisations of the (filtered) list, with their sectors, in two queries."""
    orgs = ImportKind.ORGANISATIONS
    headers = [
        str(_l("ID")),
        *(_label(orgs, n) for n in ("name_ar", "name_fr", "name_en", "acronym", "aliases", "country", "kind")),
        *(_label(orgs, n) for n in ("website", "sectors")),
        _("Created"),
    ]
    conditions = organisation_conditions(country=country, kind=kind, sector_id=sector_id)
    sectors: dict[int, list[str]] = defaultdict(list)
    links = session.exec(
        select(OrganisationSector.organisation_id, Sector)
        .join(Sector, col(Sector.id) == col(OrganisationSector.sector_id))
        .order_by(col(Sector.position), col(Sector.code))
    ).all()
    for org_id, sector in links:
        sectors[org_id].append(sector.name())
    query = (
        select(Organisation)
        .where(*conditions)
        .order_by(func.lower(func.coalesce(Organisation.acronym, Organisation.name_en, "")), col(Organisation.id))
        .execution_options(yield_per=BATCH)
    )
    zone = user.timezone

    def rows() -> Iterator[list[Any]]:
        for org in session.exec(query):
            yield [
                org.id,
                org.name_ar or None,
                org.name_fr or None,
                org.name_en or None,
                org.acronym,
                "; ".join(org.aliases) or None,
                country_label(org.country),
                kind_label(org.kind),
                org.website,
                "; ".join(sectors.get(org.id or 0, [])) or None,
                _local(org.created_at, zone),
            ]

    return Export("organisations", _("Organisations"), headers, rows())


def contact_export(session: Session, user: User, *, organisation_id: int | None = None) -> Export:
    """The contacts (of one organisation, or all), with their organisation, in one query."""
    contacts = ImportKind.CONTACTS
    headers = [
        str(_l("ID")),
        *(_label(contacts, n) for n in ("name", "title", "organisation", "email", "phone", "language", "timezone")),
        _("Created"),
    ]
    query = select(Contact, Organisation).join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
    if organisation_id is not None:
        query = query.where(Contact.organisation_id == organisation_id)
    query = query.order_by(func.lower(Contact.name), col(Contact.id)).execution_options(yield_per=BATCH)
    zone = user.timezone

    def rows() -> Iterator[list[Any]]:
        for contact, org in session.exec(query):
            yield [
                contact.id,
                contact.name,
                contact.title or None,
                org.short_name(),
                contact.email,
                contact.phone,
                LANGUAGE_NAMES.get(contact.language.value, contact.language.value),
                contact.timezone,
                _local(contact.created_at, zone),
            ]

    return Export("contacts", _("Contacts"), headers, rows())
