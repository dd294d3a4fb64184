"""A mission's week: each day on the clock of the leg it belongs to, with the viewer's
time beside each meeting when the viewer lives in another zone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from crm.core.db import pk
from crm.core.time import to_local
from crm.missions.conflicts import Conflict, mission_conflicts
from crm.missions.models import Meeting, Mission, MissionLeg
from crm.missions.plan import leg_rows


@dataclass
class AgendaItem:
    meeting: Meeting
    starts: datetime  # wall time in the meeting's zone
    ends: datetime
    viewer_starts: datetime | None  # wall time in the viewer's zone, when it differs
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass
class AgendaDay:
    day: date
    leg: MissionLeg | None
    items: list[AgendaItem] = field(default_factory=list)


@dataclass
class AgendaWeek:
    mission: Mission
    monday: date
    days: list[AgendaDay]
    previous: date | None
    next: date | None
    conflicts: list[Conflict]
    legs: list[MissionLeg]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def default_week(mission: Mission, today: date) -> date:
    """The current week while the mission is on, else its first week."""
    return monday_of(today if mission.starts_on <= today <= mission.ends_on else mission.starts_on)


def _same_clock(instant: datetime, zone: str, viewer_zone: str) -> bool:
    return to_local(instant, zone).replace(tzinfo=None) == to_local(instant, viewer_zone).replace(tzinfo=None)


def agenda_week(session: Session, mission: Mission, monday: date, viewer_zone: str) -> AgendaWeek:
    """The week from ``monday``, kept within the mission's weeks (five queries: legs,
    meetings, and the mission's conflicts)."""
    mission_id = pk(mission)
    first, last = monday_of(mission.starts_on), monday_of(mission.ends_on)
    monday = min(max(monday_of(monday), first), last)
    legs = leg_rows(session, mission_id)
    days = [AgendaDay(monday + timedelta(days=n), None) for n in range(7)]
    for agenda_day in days:
        agenda_day.leg = next((leg for leg in legs if leg.starts_on <= agenda_day.day <= leg.ends_on), None)
    by_day = {d.day: d for d in days}
    # A day's meetings are those whose local date is that day: take a day's margin in UTC.
    window_start = datetime.combine(monday - timedelta(days=1), time.min, tzinfo=UTC)
    window_end = datetime.combine(monday + timedelta(days=9), time.min, tzinfo=UTC)
    meetings = session.exec(
        select(Meeting)
        .where(Meeting.mission_id == mission_id, Meeting.starts_at >= window_start, Meeting.starts_at < window_end)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all()
    conflicts = mission_conflicts(session, mission_id)
    of_meeting: dict[int, list[Conflict]] = defaultdict(list)
    for conflict in conflicts:
        for meeting_id in conflict.meeting_ids:
            of_meeting[meeting_id].append(conflict)
    for meeting in meetings:
        starts = to_local(meeting.starts_at, meeting.timezone)
        target = by_day.get(starts.date())
        if target is None:
            continue
        viewer = None
        if not _same_clock(meeting.starts_at, meeting.timezone, viewer_zone):
            viewer = to_local(meeting.starts_at, viewer_zone)
        ends = to_local(meeting.ends_at, meeting.timezone)
        target.items.append(AgendaItem(meeting, starts, ends, viewer, of_meeting.get(pk(meeting), [])))
    return AgendaWeek(
        mission=mission,
        monday=monday,
        days=days,
        previous=monday - timedelta(days=7) if monday > first else None,
        next=monday + timedelta(days=7) if monday < last else None,
        conflicts=conflicts,
        legs=legs,
    )
