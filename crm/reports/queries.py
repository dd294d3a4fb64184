"""The figures of a post-mission report, computed in a fixed number of queries.

Whose figures: the viewer's.  The report counts the leads the viewer may see (as the
mission page's scorecard, the lead list and the board do), so an officer who cannot see a
confidential lead finds neither it nor its value in any line, table or chart, and an
administrator's report is the complete one.  Restricting the report to those who see
everything would have hidden it from the officers who ran the mission; counting every
lead for everyone would have leaked the confidential ones through the totals.  Meetings
and the organisations met are not confidential (the mission page shows them to all).

The figures the mission page shows come from the mission page's own queries
(:func:`crm.missions.queries.scorecard`, :func:`crm.checkins.queries.mission_checkins`),
and the pipeline's from the lead list's (:func:`crm.pipeline.queries.lead_totals` over
the mission's leads), so the report and the pages never disagree.  A mission's leads are
those the scorecard counts: the leads of the mission, which are born in its meetings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.checkins.models import Outcome
from crm.checkins.queries import MissionCheckins, mission_checkins
from crm.core.db import pk
from crm.core.time import to_local, utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.filters import LeadFilter
from crm.leads.models import PIPELINE, Lead, PartnershipType, Stage
from crm.leads.queries import visible_to
from crm.missions.models import Meeting, MeetingOrganisation, Mission
from crm.missions.queries import Scorecard, legs_with_meetings, scorecard
from crm.organisations.models import Country, Organisation
from crm.pipeline.queries import Figures, lead_totals
from crm.reference.models import Sector

# Every stage in the pipeline's order, then those beside it.
STAGES = (*PIPELINE, Stage.ON_HOLD, Stage.CLOSED_NO_GO)


@dataclass(frozen=True)
class Leg:
    """A part of the mission in one place: its name (empty for the meetings on no leg), its
    time zone (those of its meetings on no leg), its days, and the meetings held there."""

    name: str
    timezone: str
    meetings: int
    first: datetime | None
    last: datetime | None
    starts_on: date | None = None
    ends_on: date | None = None


def meetings_per_leg(session: Session, mission: Mission) -> list[Leg]:
    """The mission's legs in order with their meetings (two queries); meetings on no leg
    make a last, unnamed one in their own zone when there are any."""
    legs = []
    for group in legs_with_meetings(session, pk(mission)):
        starts = [m.starts_at for m in group.meetings]
        first, last = (min(starts), max(starts)) if starts else (None, None)
        if group.leg is not None:
            leg = group.leg
            legs.append(Leg(leg.name, leg.timezone, len(starts), first, last, leg.starts_on, leg.ends_on))
        else:  # its days are those of its meetings, each on its own clock
            zones = sorted({m.timezone for m in group.meetings})
            days = [to_local(m.starts_at, m.timezone).date() for m in group.meetings]
            legs.append(Leg("", " · ".join(zones), len(starts), first, last, min(days), max(days)))
    return legs


@dataclass(frozen=True)
class OrganisationMet:
    organisation: Organisation
    meetings: int


def organisations_met(session: Session, mission_id: int) -> list[OrganisationMet]:
    """Each organisation met in the mission's meetings, with how many meetings (one query),
    in the mission page's order (by country, then as they were created)."""
    meetings = func.count(sa.distinct(col(MeetingOrganisation.meeting_id)))
    rows = session.exec(
        select(Organisation, meetings)
        .join(MeetingOrganisation, col(MeetingOrganisation.organisation_id) == col(Organisation.id))
        .join(Meeting, col(Meeting.id) == col(MeetingOrganisation.meeting_id))
        .where(Meeting.mission_id == mission_id)
        .group_by(col(Organisation.id))
        .order_by(col(Organisation.country), col(Organisation.id))
    ).all()
    return [OrganisationMet(org, int(n)) for org, n in rows]


@dataclass(frozen=True)
class LeadCounts:
    """The mission's visible leads, counted three ways (each list largest first, but the
    stages, which keep the pipeline's order)."""

    total: int
    by_sector: list[tuple[Sector | None, int]]
    by_type: list[tuple[PartnershipType, int]]
    by_stage: list[tuple[Stage, int]]

    def at(self, stage: Stage) -> int:
        return dict(self.by_stage).get(stage, 0)


def lead_counts(session: Session, viewer: User, mission_id: int) -> LeadCounts:
    """Two queries: the counts per (sector, partnership type, stage), then those sectors."""
    rows = session.exec(
        select(col(Lead.sector_id), col(Lead.partnership_type), col(Lead.stage), func.count())
        .where(Lead.mission_id == mission_id, visible_to(viewer))
        .group_by(col(Lead.sector_id), col(Lead.partnership_type), col(Lead.stage))
    ).all()
    sectors: Counter[int | None] = Counter()
    types: Counter[PartnershipType] = Counter()
    stages: Counter[Stage] = Counter()
    for sector_id, kind, stage, n in rows:
        sectors[sector_id] += int(n)
        types[PartnershipType(kind)] += int(n)
        stages[Stage(stage)] += int(n)
    known = [s for s in sectors if s is not None]
    by_id = {pk(s): s for s in session.exec(select(Sector).where(col(Sector.id).in_(known))).all()} if known else {}

    def sector_order(item: tuple[int | None, int]) -> tuple[int, int, int]:
        sector = by_id.get(item[0]) if item[0] is not None else None
        return (-item[1], sector is None, sector.position if sector else 0)

    return LeadCounts(
        total=sum(stages.values()),
        by_sector=[(by_id.get(s) if s is not None else None, n) for s, n in sorted(sectors.items(), key=sector_order)],
        by_type=sorted(types.items(), key=lambda item: (-item[1], list(PartnershipType).index(item[0]))),
        by_stage=[(stage, stages.get(stage, 0)) for stage in STAGES],
    )


@dataclass(frozen=True)
class Agreement:
    lead: Lead
    moroccan: Organisation
    american: Organisation


def agreements_signed(session: Session, viewer: User, mission_id: int) -> list[Agreement]:
    """The mission's visible leads at the agreement stage, with both sides (one query),
    the latest signed first."""
    ma, us = aliased(Organisation), aliased(Organisation)
    rows = session.exec(
        select(Lead, ma, us)
        .join(ma, col(ma.id) == col(Lead.ma_organisation_id))
        .join(us, col(us.id) == col(Lead.us_organisation_id))
        .where(Lead.mission_id == mission_id, Lead.stage == Stage.AGREEMENT_SIGNED, visible_to(viewer))
        .order_by(col(Lead.stage_changed_at).desc(), col(Lead.id).desc())
    ).all()
    return [Agreement(lead, moroccan, american) for lead, moroccan, american in rows]


@dataclass(frozen=True)
class FollowUpKeeping:
    """The follow-ups of the mission's visible leads (cancelled ones left out): done by
    their deadline, done after it, still open past it, and still open before it."""

    done_on_time: int
    done_late: int
    open_overdue: int
    open_pending: int

    @property
    def total(self) -> int:
        return self.done_on_time + self.done_late + self.open_overdue + self.open_pending


def followup_keeping(session: Session, viewer: User, mission_id: int, now: datetime) -> FollowUpKeeping:
    """One query.  "Done on time" is the ``followup.done`` event's ``on_time``: completed at
    or before the due instant."""
    done = col(FollowUp.status) == FollowUpStatus.DONE
    still_open = col(FollowUp.status) == FollowUpStatus.OPEN

    def counted(*conditions: object) -> object:
        return func.coalesce(func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)  # type: ignore[arg-type]

    row = session.exec(
        select(  # type: ignore[call-overload]
            counted(done, col(FollowUp.completed_at) <= col(FollowUp.due_at)),
            counted(done, col(FollowUp.completed_at) > col(FollowUp.due_at)),
            counted(still_open, col(FollowUp.due_at) < now),
            counted(still_open, col(FollowUp.due_at) >= now),
        )
        .select_from(FollowUp)
        .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
        .where(Lead.mission_id == mission_id, visible_to(viewer))
    ).one()
    return FollowUpKeeping(*(int(v or 0) for v in row))


@dataclass
class MissionReport:
    mission: Mission
    score: Scorecard
    legs: list[Leg]
    organisations: list[OrganisationMet]
    leads: LeadCounts
    agreements: list[Agreement]
    followups: FollowUpKeeping
    pipeline: Figures
    checkins: MissionCheckins
    now: datetime

    def met_from(self, *countries: Country) -> list[OrganisationMet]:
        return [o for o in self.organisations if o.organisation.country in countries]

    @property
    def outcomes(self) -> list[tuple[Outcome, int]]:
        """The check-in answers per outcome, in the question's order."""
        counts = Counter(a.outcome for m in self.checkins.meetings for a in m.answers)
        return [(outcome, counts.get(outcome.value, 0)) for outcome in Outcome]


def mission_report(session: Session, viewer: User, mission: Mission, now: datetime | None = None) -> MissionReport:
    """Everything the report shows, as ``viewer`` may see it (a dozen queries, whatever the
    number of meetings, leads, follow-ups and answers)."""
    now = now or utcnow()
    mission_id = pk(mission)
    return MissionReport(
        mission=mission,
        score=scorecard(session, viewer, mission_id, now),
        legs=meetings_per_leg(session, mission),
        organisations=organisations_met(session, mission_id),
        leads=lead_counts(session, viewer, mission_id),
        agreements=agreements_signed(session, viewer, mission_id),
        followups=followup_keeping(session, viewer, mission_id, now),
        pipeline=lead_totals(session, viewer, lead_filter=LeadFilter(mission_id=mission_id), now=now),
        checkins=mission_checkins(session, viewer, mission_id),
        now=now,
    )
