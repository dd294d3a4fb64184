"""The briefing sheet of a meeting: who the delegation meets (the US organisations' profile),
what came before with them (leads the reader may see, earlier meetings), their people, and
the meeting's notes.  A fixed number of queries, whatever the number of organisations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, or_, select

from crm.accounts.models import User
from crm.core.db import pk
from crm.itineraries.queries import Entry, meeting_entries
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.missions.models import Meeting, MeetingOrganisation, Mission
from crm.organisations.models import Contact, Country, Organisation
from crm.organisations.queries import sectors_of
from crm.reference.models import Sector

MAX_ROWS = 50


@dataclass
class LeadItem:
    lead: Lead
    partner: Organisation  # the organisation on the other side of the lead
    owner: User
    born_here: bool


@dataclass
class Profile:
    organisation: Organisation
    sectors: list[Sector] = field(default_factory=list)
    leads: list[LeadItem] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)


@dataclass
class Briefing:
    entry: Entry
    mission: Mission | None
    profiles: list[Profile]


def _profiled(entry: Entry) -> list[Organisation]:
    """The US organisations met; a meeting with none profiles every organisation it had."""
    us = [o for o in entry.organisations if o.country == Country.US]
    return us or list(entry.organisations)


def briefing(session: Session, user: User, meeting: Meeting) -> Briefing:
    (entry,) = meeting_entries(session, [meeting])
    mission = session.get(Mission, meeting.mission_id) if meeting.mission_id else None
    profiles = {pk(o): Profile(o) for o in _profiled(entry)}
    ids = list(profiles)
    if ids:
        for org_id, sectors in sectors_of(session, ids).items():
            profiles[org_id].sectors = sectors
        _add_leads(session, user, meeting, profiles)
        _add_meetings(session, meeting, profiles)
        for contact in session.exec(
            select(Contact)
            .where(col(Contact.organisation_id).in_(ids), col(Contact.erased_at).is_(None))
            .order_by(col(Contact.name), col(Contact.id))
        ).all():
            profiles[contact.organisation_id].contacts.append(contact)
    return Briefing(entry, mission, list(profiles.values()))


def _add_leads(session: Session, user: User, meeting: Meeting, profiles: dict[int, Profile]) -> None:
    """The leads on either side of which a profiled organisation stands, as ``user`` may see
    them (a confidential lead only for its owner, watchers and administrators)."""
    ids = list(profiles)
    rows = session.exec(
        select(Lead, User)
        .join(User, col(User.id) == col(Lead.owner_id))
        .where(
            or_(col(Lead.us_organisation_id).in_(ids), col(Lead.ma_organisation_id).in_(ids)),
            visible_to(user),
        )
        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc())
        .limit(MAX_ROWS * len(ids))
    ).all()
    partner_ids = {lead.ma_organisation_id for lead, _ in rows} | {lead.us_organisation_id for lead, _ in rows}
    partners = {pk(o): o for o in session.exec(select(Organisation).where(col(Organisation.id).in_(partner_ids))).all()}
    for lead, owner in rows:
        for side, other in (
            (lead.us_organisation_id, lead.ma_organisation_id),
            (lead.ma_organisation_id, lead.us_organisation_id),
        ):
            profile = profiles.get(side)
            if profile is not None and len(profile.leads) < MAX_ROWS:
                profile.leads.append(LeadItem(lead, partners[other], owner, lead.meeting_id == meeting.id))


def _add_meetings(session: Session, meeting: Meeting, profiles: dict[int, Profile]) -> None:
    """The meetings each profiled organisation had before this one, the latest first."""
    for org_id, earlier in session.exec(
        select(MeetingOrganisation.organisation_id, Meeting)
        .join(Meeting, col(Meeting.id) == col(MeetingOrganisation.meeting_id))
        .where(
            col(MeetingOrganisation.organisation_id).in_(list(profiles)),
            col(Meeting.starts_at) < meeting.starts_at,
            col(Meeting.id) != meeting.id,
        )
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
    ).all():
        if len(profiles[org_id].meetings) < MAX_ROWS:
            profiles[org_id].meetings.append(earlier)
