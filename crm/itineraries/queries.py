"""Reads for itineraries: the meetings a delegate attends during a mission, with the
organisations and people of each, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from crm.core.db import pk
from crm.core.time import to_local
from crm.missions.models import Meeting, MeetingContact, MeetingOrganisation, Mission, MissionDelegate
from crm.organisations.models import Contact, Organisation


def meeting_end(meeting: Meeting) -> datetime:
    """When ``meeting`` ends (a UTC instant), after its duration."""
    return meeting.ends_at


@dataclass
class Entry:
    """One meeting of an itinerary, with its organisations and the people attending."""

    meeting: Meeting
    organisations: list[Organisation] = field(default_factory=list)
    attendees: list[tuple[Contact, Organisation]] = field(default_factory=list)

    @property
    def ends_at(self) -> datetime:
        return meeting_end(self.meeting)

    @property
    def local_day(self) -> date:
        return to_local(self.meeting.starts_at, self.meeting.timezone).date()


@dataclass
class Day:
    day: date
    entries: list[Entry]


@dataclass
class Itinerary:
    mission: Mission
    delegate: Contact
    organisation: Organisation
    entries: list[Entry]

    @property
    def days(self) -> list[Day]:
        """The meetings grouped by the day they fall on where they take place."""
        days: list[Day] = []
        for entry in self.entries:
            if not days or days[-1].day != entry.local_day:
                days.append(Day(entry.local_day, []))
            days[-1].entries.append(entry)
        return days

    @property
    def zones(self) -> list[str]:
        return list(dict.fromkeys(e.meeting.timezone for e in self.entries))


def delegate_of(session: Session, mission: Mission, contact_id: int) -> tuple[Contact, Organisation] | None:
    """The delegate ``contact_id`` of ``mission`` with their organisation, or ``None``."""
    row = session.exec(
        select(Contact, Organisation)
        .join(MissionDelegate, col(MissionDelegate.contact_id) == col(Contact.id))
        .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
        .where(MissionDelegate.mission_id == pk(mission), col(Contact.id) == contact_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def meeting_entries(session: Session, meetings: list[Meeting]) -> list[Entry]:
    """``meetings`` with their organisations and attendees (two queries for all)."""
    entries = [Entry(m) for m in meetings]
    by_id = {pk(e.meeting): e for e in entries}
    if not by_id:
        return entries
    for meeting_id, org in session.exec(
        select(MeetingOrganisation.meeting_id, Organisation)
        .join(Organisation, col(Organisation.id) == col(MeetingOrganisation.organisation_id))
        .where(col(MeetingOrganisation.meeting_id).in_(list(by_id)))
        .order_by(col(Organisation.country).desc(), col(Organisation.id))
    ).all():
        by_id[meeting_id].organisations.append(org)
    for meeting_id, contact, org in session.exec(
        select(MeetingContact.meeting_id, Contact, Organisation)
        .join(Contact, col(Contact.id) == col(MeetingContact.contact_id))
        .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
        .where(col(MeetingContact.meeting_id).in_(list(by_id)))
        .order_by(col(Organisation.id), col(Contact.name), col(Contact.id))
    ).all():
        by_id[meeting_id].attendees.append((contact, org))
    return entries


def itinerary(session: Session, mission: Mission, delegate: Contact, organisation: Organisation) -> Itinerary:
    """The meetings of ``mission`` that ``delegate`` attends, in the order they happen."""
    meetings = session.exec(
        select(Meeting)
        .join(MeetingContact, col(MeetingContact.meeting_id) == col(Meeting.id))
        .where(Meeting.mission_id == pk(mission), MeetingContact.contact_id == pk(delegate))
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all()
    return Itinerary(mission, delegate, organisation, meeting_entries(session, list(meetings)))
