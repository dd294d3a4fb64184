"""Reads about missions: the list, one mission's meetings and its scorecard."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, exists, func, select

from crm.accounts.models import User
from crm.core.counting import Count, exact_limit
from crm.core.db import pk
from crm.core.events import Event
from crm.core.time import utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Lead, Stage
from crm.leads.queries import visible_to
from crm.missions.models import (
    ACTIVE_STATUSES,
    DelegateRole,
    Meeting,
    MeetingContact,
    MeetingOrganisation,
    Mission,
    MissionDelegate,
    MissionLeg,
    MissionOrganiser,
    MissionSector,
    MissionStatus,
)
from crm.missions.plan import current_roles, leg_rows
from crm.organisations.models import Contact, Organisation
from crm.reference.models import Sector


@dataclass
class MissionRow:
    mission: Mission
    meetings: int
    leads: int  # at most the count bound + 1 (then shown as "more than")
    legs: list[MissionLeg] = field(default_factory=list)

    @property
    def leads_count(self) -> Count:
        bound = exact_limit()
        return Count(self.leads) if self.leads <= bound else Count(bound + 1, exact=False)


def mission_rows(session: Session, user: User, statuses: Iterable[str] | None = ACTIVE_STATUSES) -> list[MissionRow]:
    """The missions in ``statuses`` (planned and under way by default; ``None``: all) with
    their legs, number of meetings and of leads ``user`` may see (two queries)."""
    meetings = (
        select(func.count())
        .select_from(Meeting)
        .where(Meeting.mission_id == Mission.id)
        .correlate(Mission)
        .scalar_subquery()
    )
    # Each mission's leads counted up to the bound: a mission of a million leads costs as
    # much as one of a thousand (crm.core.counting).
    some_leads = (
        select(col(Lead.id))
        .where(Lead.mission_id == Mission.id, visible_to(user))
        .correlate(Mission)
        .limit(exact_limit() + 1)
    )
    leads = select(func.count()).select_from(some_leads.subquery()).correlate(Mission).scalar_subquery()
    query = select(Mission, meetings, leads)
    if statuses is not None:
        query = query.where(col(Mission.status).in_([MissionStatus(s) for s in statuses]))
    rows = session.exec(query.order_by(col(Mission.starts_on).desc(), col(Mission.id).desc())).all()
    legs: dict[int, list[MissionLeg]] = defaultdict(list)
    if rows:
        for leg in session.exec(
            select(MissionLeg)
            .where(col(MissionLeg.mission_id).in_([pk(m) for m, _, _ in rows]))
            .order_by(col(MissionLeg.mission_id), col(MissionLeg.position), col(MissionLeg.id))
        ).all():
            legs[leg.mission_id].append(leg)
    return [MissionRow(mission, n_meetings, n_leads, legs[pk(mission)]) for mission, n_meetings, n_leads in rows]


@dataclass
class Scorecard:
    meetings_held: int
    leads_created: int
    leads_with_on_time_followup: int
    agreements_signed: int


def scorecard(session: Session, user: User, mission_id: int, now: datetime | None = None) -> Scorecard:
    """The mission's results in one query, counting only leads ``user`` may see.

    A lead has an on-time follow-up when one of its follow-ups is open and not yet due, or
    was done on time (the ``followup.done`` event says so in its payload)."""
    now = now or utcnow()
    meetings_held = select(func.count()).select_from(Meeting).where(Meeting.mission_id == mission_id)
    mission_leads = [Lead.mission_id == mission_id, visible_to(user)]
    open_on_time = exists().where(
        col(FollowUp.lead_id) == col(Lead.id),
        col(FollowUp.status) == FollowUpStatus.OPEN,
        col(FollowUp.due_at) >= now,
    )
    done_on_time = exists().where(
        col(Event.lead_id) == col(Lead.id),
        col(Event.type) == "followup.done",
        Event.payload["on_time"].as_boolean().is_(True),  # type: ignore[index]
    )
    on_time = select(func.count()).select_from(Lead).where(*mission_leads, sa.or_(open_on_time, done_on_time))
    created = select(func.count()).select_from(Lead).where(*mission_leads)
    signed = select(func.count()).select_from(Lead).where(*mission_leads, Lead.stage == Stage.AGREEMENT_SIGNED)
    row = session.exec(
        select(
            meetings_held.scalar_subquery(),
            created.scalar_subquery(),
            on_time.scalar_subquery(),
            signed.scalar_subquery(),
        )
    ).one()
    return Scorecard(*(int(v) for v in row))


@dataclass
class MeetingView:
    meeting: Meeting
    organisations: list[Organisation] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)


@dataclass
class MissionDetail:
    mission: Mission
    organisers: list[Organisation]
    delegates: list[DelegateRow]
    meetings: list[MeetingView]
    organisations_met: list[Organisation]
    legs: list[MissionLeg] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)


def mission_detail(session: Session, user: User, mission: Mission) -> MissionDetail:
    """Everything the mission page shows, in a fixed number of queries."""
    mission_id = pk(mission)
    organisers = session.exec(
        select(Organisation)
        .join(MissionOrganiser, col(MissionOrganiser.organisation_id) == col(Organisation.id))
        .where(MissionOrganiser.mission_id == mission_id)
        .order_by(col(Organisation.id))
    ).all()
    meetings = [
        MeetingView(m)
        for m in session.exec(
            select(Meeting).where(Meeting.mission_id == mission_id).order_by(col(Meeting.starts_at), col(Meeting.id))
        ).all()
    ]
    by_id = {pk(v.meeting): v for v in meetings}
    met: dict[int, Organisation] = {}
    if by_id:
        for meeting_id, org in session.exec(
            select(MeetingOrganisation.meeting_id, Organisation)
            .join(Organisation, col(Organisation.id) == col(MeetingOrganisation.organisation_id))
            .where(col(MeetingOrganisation.meeting_id).in_(list(by_id)))
            .order_by(col(Organisation.country), col(Organisation.id))
        ).all():
            by_id[meeting_id].organisations.append(org)
            met[pk(org)] = org
        for lead in session.exec(
            select(Lead).where(col(Lead.meeting_id).in_(list(by_id)), visible_to(user)).order_by(col(Lead.id))
        ).all():
            by_id[lead.meeting_id or 0].leads.append(lead)
    sectors = session.exec(
        select(Sector)
        .join(MissionSector, col(MissionSector.sector_id) == col(Sector.id))
        .where(MissionSector.mission_id == mission_id)
        .order_by(col(Sector.position), col(Sector.id))
    ).all()
    return MissionDetail(
        mission=mission,
        organisers=list(organisers),
        delegates=delegates_with_roles(session, mission_id),
        meetings=meetings,
        organisations_met=list(met.values()),
        legs=leg_rows(session, mission_id),
        sectors=list(sectors),
    )


def mission_people(session: Session, mission_id: int) -> tuple[list[int], dict[int, str]]:
    """A mission's organisers' ids and its delegates' roles by contact id (what its form shows)."""
    organisers = session.exec(
        select(MissionOrganiser.organisation_id)
        .where(MissionOrganiser.mission_id == mission_id)
        .order_by(col(MissionOrganiser.organisation_id))
    ).all()
    return list(organisers), current_roles(session, mission_id)


def mission_sector_ids(session: Session, mission_id: int) -> list[int]:
    return sorted(session.exec(select(MissionSector.sector_id).where(MissionSector.mission_id == mission_id)).all())


@dataclass
class DelegateRow:
    contact: Contact
    organisation: Organisation
    role: DelegateRole


ROLE_ORDER = {role: index for index, role in enumerate(DelegateRole)}


def delegates_with_roles(session: Session, mission_id: int) -> list[DelegateRow]:
    """The mission's delegates with their organisation and role: the head of delegation
    first, then delegates, organisers and interpreters, each by organisation and name."""
    rows = session.exec(
        select(Contact, Organisation, MissionDelegate.role)
        .join(MissionDelegate, col(MissionDelegate.contact_id) == col(Contact.id))
        .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
        .where(MissionDelegate.mission_id == mission_id)
    ).all()
    found = [DelegateRow(c, o, DelegateRole(role)) for c, o, role in rows]
    return sorted(found, key=lambda r: (ROLE_ORDER[r.role], pk(r.organisation), r.contact.name, pk(r.contact)))


@dataclass
class LegMeetings:
    leg: MissionLeg | None
    meetings: list[Meeting] = field(default_factory=list)


def legs_with_meetings(session: Session, mission_id: int) -> list[LegMeetings]:
    """The mission's legs in order, each with its meetings by start (two queries).  Meetings
    on no leg come last, under ``leg=None``, when there are any."""
    groups = [LegMeetings(leg) for leg in leg_rows(session, mission_id)]
    by_leg = {pk(g.leg): g for g in groups if g.leg is not None}
    loose = LegMeetings(None)
    for meeting in session.exec(
        select(Meeting).where(Meeting.mission_id == mission_id).order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all():
        by_leg.get(meeting.leg_id or 0, loose).meetings.append(meeting)
    return groups + ([loose] if loose.meetings else [])


def meeting_people(session: Session, meeting_id: int) -> tuple[list[int], list[int]]:
    """The ids of the organisations and people a meeting had (what its form shows as chosen)."""
    organisations = session.exec(
        select(MeetingOrganisation.organisation_id).where(MeetingOrganisation.meeting_id == meeting_id)
    ).all()
    people = session.exec(select(MeetingContact.contact_id).where(MeetingContact.meeting_id == meeting_id)).all()
    return sorted(organisations), sorted(people)
